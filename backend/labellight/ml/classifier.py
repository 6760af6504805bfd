"""Linear classification head on frozen embeddings: multinomial logistic regression.

p(c | x) = softmax(W x + b)_c with x the L2-normalised embedding, W (C, D), b (C,). Fitted by
scikit-learn with balanced class weights, so rare classes are not drowned by frequent ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from labellight.common.atomic_file import atomic_path
from labellight.common.vectors import unit_rows

# Inverse L2 strength. Unit-norm embeddings differ by small cosines, so a weak penalty is needed
# for confident probabilities; 10 is well inside the plateau of linear-probe accuracy.
DEFAULT_C = 10.0
_MAX_ITER = 1000


@dataclass
class LinearHead:
    """Weights of a trained head. ``classes[j]`` is our class id for column j of the output."""

    coef: np.ndarray  # (C, D) float32
    intercept: np.ndarray  # (C,) float32
    classes: np.ndarray  # (C,) int64

    def __post_init__(self) -> None:
        self.coef = np.asarray(self.coef, dtype=np.float32)
        self.intercept = np.asarray(self.intercept, dtype=np.float32)
        self.classes = np.asarray(self.classes, dtype=np.int64)
        n_classes = self.classes.shape[0]
        if self.coef.ndim != 2 or self.coef.shape[0] != n_classes or self.intercept.shape != (n_classes,):
            shapes = f"coef {self.coef.shape}, intercept {self.intercept.shape}, classes {self.classes.shape}"
            raise ValueError(f"inconsistent head: {shapes}")
        if n_classes < 2:
            raise ValueError("a head needs at least 2 classes")

    @property
    def dim(self) -> int:
        """Embedding dimension D."""
        return int(self.coef.shape[1])

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (N, C) for embeddings (N, D) (re-normalised to unit length)."""
        x = unit_rows(x, min_rows=1)
        if x.shape[1] != self.dim:
            raise ValueError(f"embeddings have dimension {x.shape[1]}, the head expects {self.dim}")
        logits = x @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        probs: np.ndarray = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        return probs

    def save(self, path: Path) -> None:
        """Write an ``.npz`` (plain arrays, no pickle) atomically."""
        with atomic_path(Path(path)) as tmp, tmp.open("wb") as f:
            np.savez(f, coef=self.coef, intercept=self.intercept, classes=self.classes)

    @classmethod
    def load(cls, path: Path) -> LinearHead:
        with np.load(Path(path), allow_pickle=False) as data:
            return cls(coef=data["coef"], intercept=data["intercept"], classes=data["classes"])


@dataclass
class HeadTraining:
    """A fitted head and its stratified cross-validated accuracy (None when a class has 1 label)."""

    head: LinearHead
    cv_accuracy: float | None
    n_folds: int
    n_labels: int
    out_of_fold: np.ndarray | None = None
    """(N, C) probabilities of each label from the fold that held it out (columns: ``head.classes``), or None
    without cross-validation: the same folds give ``cv_accuracy`` and the per-class report."""


def logistic_regression(seed: int, c: float) -> LogisticRegression:
    """The linear head's model: class-balanced logistic regression (shared with cross-validation)."""
    return LogisticRegression(C=c, class_weight="balanced", max_iter=_MAX_ITER, random_state=seed)


def _head_from(model: LogisticRegression) -> LinearHead:
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:
        # Binary form: one logit w.x + b for classes_[1]. softmax([-l/2, l/2]) = sigmoid(l)
        # gives the same probabilities in our (C, D) form.
        coef = np.concatenate([-coef / 2, coef / 2])
        intercept = np.concatenate([-intercept / 2, intercept / 2])
    return LinearHead(coef=coef, intercept=intercept, classes=model.classes_)


def _checked(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = unit_rows(x, min_rows=1)
    y = np.asarray(y)
    if y.shape != (x.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be integer class ids of shape ({x.shape[0]},), got {y.dtype} {y.shape}")
    if np.unique(y).shape[0] < 2:
        raise ValueError(f"training a classifier needs labels of at least 2 classes, got {np.unique(y).shape[0]}")
    return x, y.astype(np.int64)


def fit_linear_head(x: np.ndarray, y: np.ndarray, seed: int = 0, *, c: float = DEFAULT_C) -> LinearHead:
    """Fit the head on embeddings ``x`` (N, D) and integer class ids ``y`` (N,), without cross-validation."""
    x, y = _checked(x, y)
    return _head_from(logistic_regression(seed, c).fit(x, y))


def train_linear_head(x: np.ndarray, y: np.ndarray, seed: int = 0, *, c: float = DEFAULT_C) -> HeadTraining:
    """Fit the head on embeddings ``x`` (N, D) and integer class ids ``y`` (N,), and score it.

    Cross-validation: stratified k-fold with k = min(5, smallest class count) when that is >= 2; the
    accuracy is the mean over folds, and the out-of-fold probabilities come from the same fits.
    """
    x, y = _checked(x, y)
    classes, counts = np.unique(y, return_counts=True)
    n_folds = min(5, int(counts.min()))
    cv_accuracy: float | None = None
    out_of_fold: np.ndarray | None = None
    if n_folds >= 2:
        splits = list(StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed).split(x, y))
        out_of_fold = cross_val_predict(logistic_regression(seed, c), x, y, cv=splits, method="predict_proba")
        predicted = classes[out_of_fold.argmax(axis=1)]
        cv_accuracy = float(np.mean([np.mean(predicted[test] == y[test]) for _, test in splits]))
    else:
        n_folds = 0
    head = _head_from(logistic_regression(seed, c).fit(x, y))
    return HeadTraining(head=head, cv_accuracy=cv_accuracy, n_folds=n_folds, n_labels=int(x.shape[0]),
                        out_of_fold=out_of_fold)
