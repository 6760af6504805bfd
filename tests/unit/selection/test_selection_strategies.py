import numpy as np
import pytest

from labellight.selection import probcover
from labellight.selection.auto_strategy import choose_strategy
from labellight.selection.clustering import kmeans
from labellight.selection.hybrid import select_hybrid
from labellight.selection.k_center import select_k_center
from labellight.selection.probcover import choose_delta, select_probcover
from labellight.selection.typical_clusters import select_typical
from labellight.selection.uncertainty import (
    entropy_scores,
    least_confidence_scores,
    select_entropy,
    select_least_confidence,
    select_margin,
)


def _blobs(n_blobs: int, per_blob: int = 30, dim: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_blobs, dim)) * 20
    x = np.concatenate([c + rng.normal(size=(per_blob, dim)) for c in centres]).astype(np.float32)
    return x, np.repeat(np.arange(n_blobs), per_blob)


def _rows(suggestions: list) -> list[int]:  # type: ignore[type-arg]
    return [s.index for s in suggestions]


def test_kmeans_finds_well_separated_blobs() -> None:
    x, blob = _blobs(7, per_blob=20)
    assignment, centroids = kmeans(x, 7)
    assert centroids.shape == (7, 8)
    assert len({(int(b), int(a)) for b, a in zip(blob, assignment, strict=True)}) == 7
    with pytest.raises(ValueError, match="n_clusters"):
        kmeans(x, 0)
    assert kmeans(x, np.int64(3))[1].shape == (3, 8)  # type: ignore[arg-type]  # NumPy ints happen


@pytest.mark.parametrize("n_blobs", [4, 9])
def test_typical_and_probcover_cover_every_cluster_at_budget_equal_to_cluster_count(n_blobs: int) -> None:
    x, blob = _blobs(n_blobs)
    unlabeled = np.zeros(len(x), bool)
    assert sorted(blob[_rows(select_typical(x, unlabeled, n_blobs))]) == list(range(n_blobs))
    cover = select_probcover(x, unlabeled, n_blobs, n_classes=n_blobs)
    assert sorted(blob[_rows(cover.suggestions)]) == list(range(n_blobs))
    assert cover.coverage_before == 0.0
    assert cover.coverage >= 0.9
    reported = [float(s.reason["coverage"]) for s in cover.suggestions]
    assert reported == sorted(reported)
    assert reported[-1] == cover.coverage
    assert all(s.reason["strategy"] == "probcover" and s.reason["delta"] == cover.delta for s in cover.suggestions)


def test_probcover_counts_labeled_balls_as_covered() -> None:
    x, blob = _blobs(5)
    labeled = np.zeros(len(x), bool)
    labeled[[0, 31]] = True  # one label in blob 0 and one in blob 1
    cover = select_probcover(x, labeled, 3, n_classes=5)
    assert sorted(blob[_rows(cover.suggestions)]) == [2, 3, 4]
    assert 0.35 <= cover.coverage_before <= 0.45  # about the two labeled blobs of five
    with pytest.raises(ValueError, match="delta"):
        select_probcover(x, labeled, 3, delta=0.0)


def test_chosen_delta_makes_balls_pure_and_not_trivial() -> None:
    x, blob = _blobs(6)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    delta = choose_delta(unit, n_classes=6)
    distance = np.linalg.norm(unit[:, None] - unit[None], axis=2)
    in_ball = distance < delta
    pure = np.array([(blob[in_ball[i]] == blob[i]).all() for i in range(len(x))])
    assert pure.mean() >= 0.95
    assert in_ball.sum(axis=1).mean() > 5


def test_probcover_on_a_sample_of_a_large_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    x, blob = _blobs(4, per_blob=50)
    cover = select_probcover(x, np.zeros(len(x), bool), 4, n_classes=4, max_points=80)
    assert sorted(blob[_rows(cover.suggestions)]) == [0, 1, 2, 3]
    assert cover.coverage >= 0.9
    monkeypatch.setattr(probcover, "_MAX_EDGES", 100)
    with pytest.raises(ValueError, match="too large"):
        select_probcover(x, np.zeros(len(x), bool), 4, delta=2.0)


def _logistic_line() -> tuple[np.ndarray, np.ndarray]:
    """61 points on a line through a 2-class decision boundary at 0 (rows 28..32 are nearest)."""
    position = np.linspace(-3, 3, 61)
    p = 1 / (1 + np.exp(-3 * position))
    return position, np.stack([1 - p, p], axis=1)


@pytest.mark.parametrize("select", [select_least_confidence, select_margin, select_entropy])
def test_uncertainty_picks_the_points_nearest_the_decision_boundary(select) -> None:  # type: ignore[no-untyped-def]
    position, probs = _logistic_line()
    labeled = np.zeros(61, bool)
    labeled[30] = True  # the boundary point itself is labeled
    rows = _rows(select(probs, labeled, 4))
    assert sorted(rows) == [28, 29, 31, 32]
    assert np.abs(position[rows]).max() < np.abs(position[~labeled]).min() + 0.2 + 1e-9


def test_uncertainty_scores() -> None:
    probs = np.array([[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0.0]])
    np.testing.assert_allclose(entropy_scores(probs), [0.0, np.log(3), np.log(2)])
    np.testing.assert_allclose(least_confidence_scores(probs), [0.0, 2 / 3, 0.5])
    suggestions = select_entropy(probs, np.zeros(3, bool), 3)
    assert _rows(suggestions) == [1, 2, 0]
    assert suggestions[0].reason == pytest.approx(
        {"strategy": "entropy", "entropy": np.log(3), "top_probability": 1 / 3, "top_class_index": 0}
    )


def test_k_center_picks_far_points_first() -> None:
    rng = np.random.default_rng(0)
    core = rng.normal(scale=0.1, size=(40, 2))
    far = np.array([[2.0, 0.0], [0.0, -10.0], [5.0, 5.0]])
    x = np.concatenate([core, far]).astype(np.float32)
    labeled = np.zeros(len(x), bool)
    labeled[:20] = True
    suggestions = select_k_center(x, labeled, 3)
    assert _rows(suggestions) == [41, 42, 40]
    assert float(suggestions[0].reason["distance"]) == pytest.approx(10.0, abs=0.3)


def test_k_center_without_labels_starts_randomly_then_goes_far_with_shrinking_distances() -> None:
    x, _ = _blobs(5)
    suggestions = select_k_center(x, np.zeros(len(x), bool), 12, seed=3)
    assert suggestions[0].reason == {"strategy": "k_center", "start": "random"}
    start = x[suggestions[0].index]
    assert suggestions[1].index == int(np.argmax(np.linalg.norm(x - start, axis=1)))
    distances = [float(s.reason["distance"]) for s in suggestions[1:]]
    assert distances == sorted(distances, reverse=True)


def _hybrid_case() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """4 blobs; predicted class per blob 0, 0, 1, 2; blob 0 holds the 10 most uncertain rows."""
    x, blob = _blobs(4)
    rng = np.random.default_rng(1)
    margin = rng.uniform(0.3, 0.6, size=len(x))
    margin[:30] = 0.95
    margin[:10] = np.linspace(0.01, 0.1, 10)
    predicted = np.array([0, 0, 1, 2])[blob]
    probs = np.full((len(x), 3), 0.001)
    second = (predicted + 1) % 3
    probs[np.arange(len(x)), predicted] = (1 + margin) / 2 - 0.001
    probs[np.arange(len(x)), second] = (1 - margin) / 2 - 0.001
    return x, blob, probs, predicted


def test_hybrid_takes_uncertain_rows_from_distinct_clusters_and_balances_classes() -> None:
    x, blob, probs, predicted = _hybrid_case()
    labeled = np.zeros(len(x), bool)
    label_counts = np.array([10, 0, 0])
    assert set(blob[_rows(select_margin(probs, labeled, 3))]) == {0}
    suggestions = select_hybrid(x, probs, labeled, 3, label_counts)
    rows = _rows(suggestions)
    assert len(set(blob[rows])) == 3
    assert {1, 2} <= set(predicted[rows])
    assert predicted[rows[0]] != 0  # the class with 10 labels waits
    first = suggestions[0].reason
    assert first["strategy"] == "hybrid"
    assert first["class_labels"] == 0
    assert first["predicted_class_index"] == predicted[rows[0]]
    assert first["margin"] == pytest.approx(probs[rows[0]].max() - np.sort(probs[rows[0]])[-2])
    assert len({s.reason["cluster"] for s in suggestions}) == 3
    with pytest.raises(ValueError, match="label_counts"):
        select_hybrid(x, probs, labeled, 3, np.array([1, 2]))


@pytest.mark.parametrize(
    ("n_labeled", "n_classes_labeled", "trusted", "n_classes", "expected"),
    [
        (0, 0, False, None, "typical"),
        (100, 5, False, 10, "typical"),  # no trustworthy classifier yet: cold start
        (15, 10, True, 10, "typical"),  # trustworthy, but under 2 labels per class: coverage first
        (20, 10, True, 10, "hybrid"),  # 2 per class and a head that beats guessing
        (200, 10, False, 10, "typical"),  # many labels, but the head is no better than guessing
        (4, 2, True, 2, "hybrid"),  # binary: 2 per class
        (3, 2, True, 2, "typical"),
        (200, 1, False, 10, "typical"),  # one class labeled: no classifier
        (40, 3, True, None, "hybrid"),  # classes unknown: the labeled ones count
    ],
)
def test_auto_strategy_choice(
    n_labeled: int, n_classes_labeled: int, trusted: bool, n_classes: int | None, expected: str
) -> None:
    assert choose_strategy(n_labeled, n_classes_labeled, trusted, n_classes) == expected


def test_auto_strategy_validates_counts() -> None:
    with pytest.raises(ValueError, match="classes cannot hold"):
        choose_strategy(1, 2, False)
    with pytest.raises(ValueError, match="counts"):
        choose_strategy(-1, 0, False)


def _auto_choice(x: np.ndarray, y: np.ndarray, labeled_rows: np.ndarray, n_classes: int) -> str:
    """The app's rule on a head trained on the given labels (as suggestions.auto wires it)."""
    from labellight.ml.baselines import judge
    from labellight.ml.classifier import train_linear_head

    labels = y[labeled_rows]
    training = train_linear_head(x[labeled_rows], labels)
    trust = judge(training.cv_accuracy, np.bincount(labels).tolist(), training.n_folds)
    return choose_strategy(len(labeled_rows), len(set(labels.tolist())), trust.trustworthy, n_classes)


def test_auto_leaves_the_cold_start_when_the_head_has_learned_the_classes_not_when_it_guesses() -> None:
    x, y = _blobs(4, per_blob=30, seed=3)
    rng = np.random.default_rng(0)
    three_each = np.concatenate([rng.choice(np.flatnonzero(y == c), 3, replace=False) for c in range(4)])
    assert _auto_choice(x, y, three_each, 4) == "hybrid"
    # The same images with shuffled labels: the head cannot beat guessing, so typical picks go on.
    shuffled = y.copy()
    shuffled[three_each] = rng.permutation(np.repeat(np.arange(4), 3))
    while np.mean(shuffled[three_each] == y[three_each]) > 0.25:
        shuffled[three_each] = rng.permutation(shuffled[three_each])
    assert _auto_choice(x, shuffled, three_each, 4) == "typical"
    # One label per class: not cross-validated, so never trusted, however clean the classes.
    one_each = three_each[::3]
    assert _auto_choice(x, y, one_each, 4) == "typical"
