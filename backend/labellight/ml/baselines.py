"""An accuracy against guessing: chance, the majority-class baseline, and when a score is trustworthy.

Guessing uniformly scores ``chance`` = 1 / classes; always answering the most common label scores
the ``majority`` share, never below chance. A cross-validated accuracy is *trustworthy* when a
one-sided binomial test rejects "no better than the majority baseline" at ``SIGNIFICANCE``:
P(X >= correct) <= 0.05 for X ~ Binomial(n scored labels, majority share). The margin it asks for
shrinks as labels grow: at a 1/3 baseline 8 of 12 right (67%) pass, at a 50% baseline 15 of 20
(75%) or 113 of 200 (57%). This is the one place that defines it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scipy.stats import binom

SIGNIFICANCE = 0.05
# Below this many folds each held-out check trains on half the labels or less: a rough estimate.
MIN_FOLDS = 3


@dataclass(frozen=True)
class Baselines:
    """Of the ``n`` labels a report scored: the ``classes`` among them and the ``majority`` share."""

    classes: int
    majority: float
    n: int

    @property
    def chance(self) -> float:
        return 1.0 / self.classes


@dataclass(frozen=True)
class Trust:
    """Whether a cross-validated accuracy beats guessing, in plain words, and a note on too few folds."""

    trustworthy: bool
    reason: str
    baselines: Baselines | None = None
    p_value: float | None = None
    folds_warning: str | None = None


def baselines(support: Sequence[int]) -> Baselines:
    """Chance and the majority share of labels counted per class (``support``, at least 2 classes)."""
    counts = [int(s) for s in support if int(s) > 0]
    if len(counts) < 2:
        raise ValueError(f"baselines need labels of at least 2 classes, got counts {list(support)}")
    return Baselines(len(counts), max(counts) / sum(counts), sum(counts))


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _folds_warning(n_folds: int) -> str | None:
    if n_folds >= MIN_FOLDS:
        return None
    return (f"only {n_folds} folds: each check trained on half the labels, so the accuracy is a rough estimate; "
            f"label at least {MIN_FOLDS} images of every class")


def judge(accuracy: float | None, support: Sequence[int] | None, n_folds: int) -> Trust:
    """The verdict on a cross-validated ``accuracy`` of labels counted per class in ``support``."""
    if accuracy is None or not support:
        return Trust(False, "not cross-validated: label at least 2 images of every class and train again")
    base = baselines(support)
    guessing = (f"{_pct(accuracy)} cross-validated against {_pct(base.chance)} for guessing among "
                f"{base.classes} classes and {_pct(base.majority)} for always answering the most common "
                f"class")
    correct = round(accuracy * base.n)
    p_value = float(binom.sf(correct - 1, base.n, base.majority))
    warning = _folds_warning(n_folds)
    if accuracy <= base.chance:
        reason = f"no better than chance: {guessing}"
    elif accuracy <= base.majority:
        reason = f"no better than always answering the most common class: {guessing}"
    elif p_value > SIGNIFICANCE:
        reason = (f"not reliably better than always answering the most common class: {guessing}; on {base.n} "
                  f"labels this could be luck (p = {p_value:.2f}): label more images")
    else:
        return Trust(True, f"better than guessing: {guessing} (p = {p_value:.3f} on {base.n} labels)", base,
                     p_value, warning)
    return Trust(False, reason, base, p_value, warning)
