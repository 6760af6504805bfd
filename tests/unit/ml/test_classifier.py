import time
from pathlib import Path

import numpy as np
import pytest

from labellight.ml.classifier import LinearHead, train_linear_head


def _blobs(n_per_class: int, classes: list[int], dim: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(classes), dim)) * 3
    x = np.concatenate([c + rng.normal(scale=0.3, size=(n_per_class, dim)) for c in centres]).astype(np.float32)
    y = np.repeat(np.asarray(classes, dtype=np.int64), n_per_class)
    return x / np.linalg.norm(x, axis=1, keepdims=True), y


@pytest.mark.parametrize("classes", [[3, 11], [5, 7, 42]])
def test_learns_separable_data_with_our_class_ids(classes: list[int]) -> None:
    x, y = _blobs(20, classes)
    result = train_linear_head(x, y)
    probs = result.head.predict_proba(x)
    assert probs.shape == (len(y), len(classes))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert (result.head.classes[probs.argmax(axis=1)] == y).all()
    assert list(result.head.classes) == classes
    assert result.cv_accuracy == pytest.approx(1.0)
    assert result.n_folds == 5
    assert result.n_labels == len(y)


def test_binary_probabilities_match_sklearn() -> None:
    from sklearn.linear_model import LogisticRegression

    x, y = _blobs(10, [0, 1])
    x += np.random.default_rng(1).normal(scale=0.5, size=x.shape).astype(np.float32)
    head = train_linear_head(x, y).head
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    reference = LogisticRegression(C=10.0, class_weight="balanced", max_iter=1000, random_state=0).fit(unit, y)
    np.testing.assert_allclose(head.predict_proba(x), reference.predict_proba(unit), atol=1e-4)


def test_save_load_round_trip_gives_same_probabilities(tmp_path: Path) -> None:
    x, y = _blobs(10, [1, 2, 9])
    head = train_linear_head(x, y).head
    path = tmp_path / "head.npz"
    head.save(path)
    loaded = LinearHead.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(x), head.predict_proba(x))
    assert loaded.classes.dtype == np.int64
    assert list(loaded.classes) == [1, 2, 9]


def test_cross_validation_folds_follow_smallest_class() -> None:
    x, y = _blobs(10, [0, 1])
    x, y = np.concatenate([x[:10], x[10:13]]), np.concatenate([y[:10], y[10:13]])
    assert train_linear_head(x, y).n_folds == 3
    single = train_linear_head(np.concatenate([x[:10], x[10:11]]), np.concatenate([y[:10], y[10:11]]))
    assert single.cv_accuracy is None
    assert single.n_folds == 0


def test_needs_two_classes_and_valid_shapes() -> None:
    x, y = _blobs(5, [4])
    with pytest.raises(ValueError, match="at least 2 classes"):
        train_linear_head(x, y)
    with pytest.raises(ValueError, match="labels must be"):
        train_linear_head(x, y[:3])
    with pytest.raises(ValueError, match="labels must be"):
        train_linear_head(x, y.astype(np.float64))


def test_training_a_few_hundred_labels_is_fast() -> None:
    x, y = _blobs(100, [0, 1, 2, 3], dim=512)
    start = time.perf_counter()
    train_linear_head(x, y)
    assert time.perf_counter() - start < 3.0


def test_cross_validation_is_one_set_of_fits_scored_and_reported_alike() -> None:
    """The accuracy is the fold mean of the same out-of-fold probabilities the per-class report reads:
    equal to scikit-learn's cross_val_score and to the review aids' cross_val_predictions on these folds."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from labellight.common.vectors import unit_rows
    from labellight.ml.classifier import DEFAULT_C, fit_linear_head, logistic_regression
    from labellight.ml.metrics import cross_val_predictions

    rng = np.random.default_rng(3)
    x, y = _blobs(9, [1, 4, 6], dim=8)
    x = x + rng.normal(scale=0.4, size=x.shape).astype(np.float32)  # overlapping: accuracy below 1
    result = train_linear_head(x, y)
    assert result.out_of_fold is not None
    assert result.out_of_fold.shape == (len(y), 3)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    expected = cross_val_score(logistic_regression(0, DEFAULT_C), unit_rows(x), y, cv=folds).mean()
    assert 0.3 < expected < 1.0
    assert result.cv_accuracy == pytest.approx(expected)
    np.testing.assert_allclose(result.out_of_fold, cross_val_predictions(x, y, folds=5).probs, atol=1e-6)
    np.testing.assert_allclose(fit_linear_head(x, y).coef, result.head.coef)


def test_one_label_in_a_class_gives_a_head_without_cross_validation() -> None:
    x, _ = _blobs(3, [0, 1])
    result = train_linear_head(x[:4], np.array([0, 0, 0, 1]))
    assert result.cv_accuracy is None
    assert result.n_folds == 0
    assert result.out_of_fold is None
