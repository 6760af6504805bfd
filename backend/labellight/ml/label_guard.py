"""The guard once a project has labels: the starting and the trained backbone compared by the app's own
linear head, cross-validated on the user's labels with the same folds for both.

Before labels exist the guard is label-free (:class:`labellight.ml.quality.ViewConsistencyGuard`); a
label-free score can prefer a backbone that classifies the user's classes worse, so labels, once
there, decide. The trained backbone ships only when its accuracy is strictly higher: on a tie (or a
loss) the start is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.model_selection import StratifiedKFold, cross_val_score
from torch import nn

from labellight.common.vectors import unit_rows
from labellight.ml.classifier import DEFAULT_C, logistic_regression
from labellight.ml.embed import embed
from labellight.ml.quality import BackboneChoice

MAX_FOLDS = 5
# Labels of a class with fewer than this many cannot be held out in a stratified fold.
_MIN_PER_CLASS = 2


@dataclass(frozen=True)
class LabeledImages:
    """The project's labelled images: uint8 pixels (N, H, W, 3) and integer class ids (N,)."""

    pixels: np.ndarray
    labels: np.ndarray

    def usable(self) -> LabeledImages | None:
        """The images of the classes with at least 2 labels, when at least 2 such classes remain
        (what a stratified cross-validation needs); else None (the guard stays label-free)."""
        labels = np.asarray(self.labels)
        classes, counts = np.unique(labels, return_counts=True)
        kept = classes[counts >= _MIN_PER_CLASS]
        if kept.shape[0] < 2:
            return None
        rows = np.isin(labels, kept)
        return LabeledImages(np.asarray(self.pixels)[rows], labels[rows].astype(np.int64))


class LabelAccuracyGuard:
    """Scores a backbone by the stratified k-fold accuracy (k = min(5, smallest class)) of the linear
    head on its embeddings of ``labeled`` (see :meth:`LabeledImages.usable`), embedded as the app embeds
    (:func:`labellight.ml.embed.embed`) at ``before_size`` for the start and ``after_size`` for the
    trained network. The folds are drawn once, so both backbones are judged on the same splits."""

    def __init__(self, labeled: LabeledImages, *, before_size: int, after_size: int, seed: int = 0,
                 device: torch.device | None = None) -> None:
        self.labeled, self.seed, self.device = labeled, seed, device
        self.sizes = {"before": before_size, "after": after_size}
        counts = np.unique(labeled.labels, return_counts=True)[1]
        self.n_folds = int(min(MAX_FOLDS, counts.min()))
        if self.n_folds < 2 or counts.shape[0] < 2:
            raise ValueError("the label guard needs at least 2 classes with 2 labels each")
        splitter = StratifiedKFold(n_splits=self.n_folds, shuffle=True, random_state=seed)
        self.folds = list(splitter.split(np.zeros(len(labeled.labels)), labeled.labels))

    def accuracy(self, module: nn.Module, image_size: int) -> float:
        x = unit_rows(embed(module, self.labeled.pixels, image_size, device=self.device))
        scores = cross_val_score(logistic_regression(self.seed, DEFAULT_C), x, self.labeled.labels, cv=self.folds,
                                 scoring="accuracy")
        return float(scores.mean())

    def score_before(self, module: nn.Module) -> float:
        return self.accuracy(module, self.sizes["before"])

    def score_after(self, module: nn.Module) -> float:
        return self.accuracy(module, self.sizes["after"])

    def choose(self, before: float, after: float) -> BackboneChoice:
        keep_after = after > before
        n, classes = len(self.labeled.labels), len(np.unique(self.labeled.labels))
        figures = (f"cross-validated accuracy of the linear head on the project's {n} labels of {classes} classes "
                   f"({self.n_folds} folds, the same for both): {100 * before:.1f}% with the starting backbone, "
                   f"{100 * after:.1f}% with the trained one")
        verdict = ("the trained backbone is better, so it ships" if keep_after else
                   "the trained backbone is no better, so the start is kept")
        return BackboneChoice("after" if keep_after else "before", before, after, float("nan"), float("nan"),
                              f"{verdict}: {figures}", method="labels")
