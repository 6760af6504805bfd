"""The ``auto`` strategy: which strategy to run now, as a pure function of the project's state.

Low-budget active learning favours *representative* picks while the classifier is weak, and
*uncertain* picks once it is good (Hacohen et al. 2022, "Active learning on a budget"): uncertainty
from a weak model points at noise, typicality needs no model at all. So:

1. Cold start, TypiClust ("typical"), while there is no usable classifier: no cross-validated
   accuracy yet (a class with a single label, or fewer than two classes labeled), fewer than
   ``min_labels_per_class`` labels per class on average, or a skill below ``min_skill``, where
   skill = (accuracy - chance) / (1 - chance), chance = 1 / #classes (0 at chance level, 1 when
   perfect; 0.5 is 55% accuracy on 10 classes, 75% on 2).
2. Then the hybrid ("hybrid"): uncertain images from distinct clusters, class-balanced.

Why these defaults: on unit-norm PCA-64 pixel features of fashion_mnist_5k and cifar10_5k, 3 seeds,
rounds to 10/20/50/100/200 labels, TypiClust beat random at 10 and 20 labels (fashion 54.5 vs 42.2
and 62.3 vs 48.8; cifar 16.0 vs 15.9, 17.4 vs 17.9: pixels carry little class signal), ProbCover
with its paper's delta rule trailed TypiClust on both (fashion 37.1 and 51.4), and switching to the
hybrid at 5 labels per class cost 1 point on fashion and fell below random on cifar, where the head
is weak. Hence TypiClust for the whole cold start and the hybrid only past 20 labels per class with
a skilled head. ProbCover stays available as an explicit strategy. Re-tune on real embeddings
(``labellight bench``).
"""

from __future__ import annotations

MIN_LABELS_PER_CLASS = 2


def choose_strategy(
    n_labeled: int,
    n_classes_labeled: int,
    trusted: bool,
    n_classes: int | None = None,
    *,
    min_labels_per_class: int = MIN_LABELS_PER_CLASS,
) -> str:
    """``"typical"`` or ``"hybrid"`` (the names of the selection strategies).

    ``n_labeled``: labeled images; ``n_classes_labeled``: classes holding at least one label;
    ``trusted``: the current head's cross-validated accuracy beats guessing (:func:`labellight.ml.baselines.judge`;
    False with no head); ``n_classes``: the project's classes, when known (else the labeled ones, at least 2).
    """
    if n_labeled < 0 or n_classes_labeled < 0 or (n_classes is not None and n_classes < 0):
        raise ValueError("counts must be >= 0")
    if n_classes_labeled > n_labeled:
        raise ValueError(f"{n_classes_labeled} classes cannot hold only {n_labeled} labels")
    classes = max(n_classes or 0, n_classes_labeled, 2)
    if trusted and n_classes_labeled >= 2 and n_labeled >= min_labels_per_class * classes:
        return "hybrid"
    return "typical"
