import json

import numpy as np
import pytest
from sklearn.metrics import precision_recall_fscore_support

from labellight.ml.metrics import classification_report, cross_val_predictions


def _blobs(n_per_class: int, classes: list[int], dim: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(classes), dim)) * 3
    x = np.concatenate([c + rng.normal(scale=0.5, size=(n_per_class, dim)) for c in centres]).astype(np.float32)
    return x, np.repeat(np.asarray(classes, dtype=np.int64), n_per_class)


def test_report_matches_sklearn_and_is_json_friendly() -> None:
    y_true = np.array([3, 3, 3, 7, 7, 9, 9, 9, 9])
    y_pred = np.array([3, 7, 3, 7, 9, 9, 9, 3, 9])
    report = classification_report(y_true, y_pred)
    assert report.classes == [3, 7, 9]
    assert report.accuracy == pytest.approx(6 / 9)
    assert report.confusion == [[2, 1, 0], [0, 1, 1], [1, 0, 3]]
    precision, recall, _, support = precision_recall_fscore_support(y_true, y_pred, labels=[3, 7, 9])
    np.testing.assert_allclose(report.precision, precision)
    np.testing.assert_allclose(report.recall, recall)
    assert report.support == list(support)
    assert json.loads(json.dumps(report.as_dict()))["confusion"] == report.confusion


def test_report_keeps_given_class_order_and_zero_for_empty_classes() -> None:
    report = classification_report(np.array([1, 1]), np.array([1, 1]), classes=[5, 1])
    assert report.classes == [5, 1]
    assert report.precision == [0.0, 1.0]
    assert report.recall == [0.0, 1.0]
    assert report.support == [0, 2]
    with pytest.raises(ValueError, match="not among the classes"):
        classification_report(np.array([1, 2]), np.array([1, 1]), classes=[1])
    with pytest.raises(ValueError, match="equally long"):
        classification_report(np.array([1, 2]), np.array([1]))


def test_cross_val_predictions_are_out_of_fold_and_accurate_on_separable_data() -> None:
    x, y = _blobs(12, [4, 8, 15])
    held_out = cross_val_predictions(x, y)
    assert held_out.n_folds == 5
    assert list(held_out.classes) == [4, 8, 15]
    assert held_out.probs.shape == (36, 3)
    np.testing.assert_allclose(held_out.probs.sum(axis=1), 1.0, rtol=1e-6)
    assert (held_out.labels == y).mean() >= 0.95
    # A lone point inside another class's blob is predicted as that class: it is never in its own fold.
    x[0] = x[20]
    assert cross_val_predictions(x, y).labels[0] == 8


def test_cross_val_predictions_follow_the_smallest_class_and_need_two_labels_each() -> None:
    x, y = _blobs(6, [0, 1])
    keep = np.r_[0:6, 6:9]
    assert cross_val_predictions(x[keep], y[keep]).n_folds == 3
    with pytest.raises(ValueError, match=">= 2 labels"):
        cross_val_predictions(x[:7], y[:7])
