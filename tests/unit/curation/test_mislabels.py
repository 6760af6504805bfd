import numpy as np
import pytest

from labellight.curation.mislabels import suspected_mislabels

Blobs = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _noisy_blobs(n_flipped: int, seed: int = 0, scale: float = 2.5) -> Blobs:
    """4 blobs x 40 labeled points (classes 0..3; at scale 2.5 they touch: clean CV accuracy ~0.99);
    ``n_flipped`` labels moved to another class."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(4, 16)) * 3
    x = np.concatenate([c + rng.normal(scale=scale, size=(40, 16)) for c in centres]).astype(np.float32)
    truth = np.repeat(np.arange(4), 40)
    flipped = rng.choice(len(x), n_flipped, replace=False)
    labels = truth.copy()
    labels[flipped] = (truth[flipped] + rng.integers(1, 4, n_flipped)) % 4
    return x, truth, labels, flipped


def test_finds_most_flipped_labels_with_few_false_alarms() -> None:
    x, truth, labels, flipped = _noisy_blobs(10)
    found = suspected_mislabels(x, labels)
    rows = {m.row for m in found}
    assert len(rows & set(flipped.tolist())) >= 8
    assert len(rows - set(flipped.tolist())) <= 2
    hits = [m for m in found if m.row in flipped]
    assert np.mean([m.suggested_label == truth[m.row] for m in hits]) >= 0.9
    for m in found:
        assert m.given_label == labels[m.row]
        assert 0.5 < m.score <= 1.0
        assert m.score == pytest.approx(1 - (m.neighbour_share + m.cv_probability) / 2)
    assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)


def test_clean_labels_raise_no_alarm_and_unlabeled_or_lone_labels_are_skipped() -> None:
    x, truth, _, _ = _noisy_blobs(0, scale=1.0)
    labels = truth.copy()
    labels[::2] = -1
    labels[1] = 7  # a class with a single label cannot be cross-validated: skipped, not flagged
    assert suspected_mislabels(x, labels) == []
    assert suspected_mislabels(x, np.full(len(x), -1)) == []
    with pytest.raises(ValueError, match="labels"):
        suspected_mislabels(x, labels.astype(np.float64))
