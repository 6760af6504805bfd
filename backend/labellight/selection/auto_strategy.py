"""The ``auto`` strategy: which strategy to run now, as a pure function of the project's state.

Low-budget active learning favours *representative* picks while the classifier is weak, and
*uncertain* picks once it is good (Hacohen et al. 2022, "Active learning on a budget"): uncertainty
from a weak model points at noise, typicality and coverage do not need a model at all. So:

1. Cold start while there is no usable classifier: no cross-validated accuracy yet (a class with a
   single label, or fewer than two classes labeled), fewer than ``min_labels_per_class`` labels per
   class on average, or a skill below ``min_skill``, where skill = (accuracy - chance) /
   (1 - chance), chance = 1 / #classes (0 for chance level, 1 for perfect; 0.5 is 55% on 10 classes,
   75% on 2).
   - the first ``typical_labels_per_class`` labels per class: TypiClust ("typical"), the pick that
     beat random picks at 10 labels on both reference datasets (issue 4);
   - after that: ProbCover ("probcover"), which keeps improving with the budget where TypiClust's
     budget-sized clustering flattens out (Yehuda et al. 2022, Fig. 4).
2. Then the hybrid ("hybrid"): uncertain images from distinct clusters, class-balanced.
"""

from __future__ import annotations

MIN_LABELS_PER_CLASS = 5
MIN_SKILL = 0.5
TYPICAL_LABELS_PER_CLASS = 2


def choose_strategy(
    n_labeled: int,
    n_classes_labeled: int,
    cv_accuracy: float | None,
    n_classes: int | None = None,
    *,
    min_labels_per_class: int = MIN_LABELS_PER_CLASS,
    min_skill: float = MIN_SKILL,
    typical_labels_per_class: int = TYPICAL_LABELS_PER_CLASS,
) -> str:
    """``"typical"``, ``"probcover"`` or ``"hybrid"`` (the names of the selection strategies).

    ``n_labeled``: labeled images; ``n_classes_labeled``: classes holding at least one label;
    ``cv_accuracy``: the current head's cross-validated accuracy (None: no head or no CV);
    ``n_classes``: the project's classes, when known (else the labeled ones, at least 2).
    """
    if n_labeled < 0 or n_classes_labeled < 0 or (n_classes is not None and n_classes < 0):
        raise ValueError("counts must be >= 0")
    if n_classes_labeled > n_labeled:
        raise ValueError(f"{n_classes_labeled} classes cannot hold only {n_labeled} labels")
    if cv_accuracy is not None and not 0.0 <= cv_accuracy <= 1.0:
        raise ValueError(f"cv_accuracy must be in [0, 1], got {cv_accuracy}")
    classes = max(n_classes or 0, n_classes_labeled, 2)
    chance = 1.0 / classes
    weak = cv_accuracy is None or (cv_accuracy - chance) / (1.0 - chance) < min_skill
    if n_classes_labeled >= 2 and n_labeled >= min_labels_per_class * classes and not weak:
        return "hybrid"
    return "typical" if n_labeled < typical_labels_per_class * classes else "probcover"
