"""Classifier quality: a JSON-friendly classification report and out-of-fold predictions.

Out-of-fold (cross-validated) predictions give every labeled image a prediction from a head that
never saw it: the honest basis for accuracy, per-class precision/recall, the confusion matrix and
suspected-mislabel detection. The model is the production head (``classifier``): multinomial
logistic regression, balanced class weights, on L2-normalised embeddings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from labellight.common.vectors import unit_rows
from labellight.ml.classifier import DEFAULT_C, logistic_regression

DEFAULT_FOLDS = 5


@dataclass(frozen=True)
class ClassificationReport:
    """Plain lists, ready for JSON. ``confusion[i][j]``: images of ``classes[i]`` predicted ``classes[j]``.

    Precision of a class never predicted, and recall of a class without support, are 0.0.
    """

    accuracy: float
    classes: list[int]
    precision: list[float]
    recall: list[float]
    support: list[int]
    confusion: list[list[int]]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CrossValPredictions:
    """Out-of-fold predictions of the labeled rows: ``labels`` (N,) int64 class ids, ``probs``
    (N, C) with columns in ``classes`` (C,) order, from ``n_folds``-fold stratified CV."""

    labels: np.ndarray
    probs: np.ndarray
    classes: np.ndarray
    n_folds: int


def _class_ids(name: str, values: np.ndarray) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim != 1 or not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"{name} must be integer class ids (N,), got {values.dtype} {values.shape}")
    return values.astype(np.int64)


def classification_report(
    y_true: np.ndarray, y_pred: np.ndarray, classes: np.ndarray | list[int] | None = None
) -> ClassificationReport:
    """Accuracy, per-class precision/recall/support and the confusion matrix of predictions.

    ``classes``: the class ids to report, in order (default: every id in ``y_true`` or ``y_pred``,
    ascending); an id outside them is an error.
    """
    y_true, y_pred = _class_ids("y_true", y_true), _class_ids("y_pred", y_pred)
    if y_true.shape != y_pred.shape or y_true.shape[0] == 0:
        raise ValueError(f"y_true and y_pred must be non-empty and equally long: {y_true.shape}, {y_pred.shape}")
    order = np.union1d(y_true, y_pred) if classes is None else _class_ids("classes", np.asarray(classes))
    if np.unique(order).shape[0] != order.shape[0]:
        raise ValueError("classes must be distinct")
    position = {int(c): i for i, c in enumerate(order)}
    unknown = set(np.union1d(y_true, y_pred).tolist()) - set(position)
    if unknown:
        raise ValueError(f"labels {sorted(unknown)} are not among the classes")
    rows = np.array([position[int(c)] for c in y_true])
    columns = np.array([position[int(c)] for c in y_pred])
    confusion = np.zeros((order.shape[0], order.shape[0]), np.int64)
    np.add.at(confusion, (rows, columns), 1)
    hits = np.diag(confusion).astype(np.float64)
    support, predicted = confusion.sum(axis=1), confusion.sum(axis=0)
    return ClassificationReport(
        accuracy=float(hits.sum() / y_true.shape[0]),
        classes=order.tolist(),
        precision=np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0).tolist(),
        recall=np.divide(hits, support, out=np.zeros_like(hits), where=support > 0).tolist(),
        support=support.tolist(),
        confusion=confusion.tolist(),
    )


def cross_val_predictions(
    x: np.ndarray, y: np.ndarray, folds: int = DEFAULT_FOLDS, seed: int = 0, *, c: float = DEFAULT_C
) -> CrossValPredictions:
    """Out-of-fold predictions of the linear head on embeddings ``x`` (N, D), class ids ``y`` (N,).

    Folds: stratified, k = min(``folds``, smallest class count); every class needs >= 2 labels and
    there must be >= 2 classes (ValueError otherwise).
    """
    x = unit_rows(x, min_rows=1)
    y = _class_ids("y", y)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"got {x.shape[0]} embeddings but {y.shape[0]} labels")
    classes, counts = np.unique(y, return_counts=True)
    n_folds = min(folds, int(counts.min()))
    if classes.shape[0] < 2 or n_folds < 2:
        raise ValueError("cross-validation needs >= 2 classes with >= 2 labels each, and folds >= 2")
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    probs = cross_val_predict(logistic_regression(seed, c), x, y, cv=splitter, method="predict_proba")
    return CrossValPredictions(
        labels=classes[probs.argmax(axis=1)], probs=probs, classes=classes.astype(np.int64), n_folds=n_folds
    )
