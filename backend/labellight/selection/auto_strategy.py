"""The ``auto`` strategy: which strategy to run now, as a pure function of the project's state.

Low-budget active learning favours *representative* picks while the classifier is weak, and
*uncertain* picks once it is good (Hacohen et al. 2022, "Active learning on a budget"): uncertainty
from a weak model points at noise, typicality needs no model at all. So:

1. Cold start, TypiClust ("typical"), until the classifier is *trustworthy* and the labels cover the
   classes: the head's cross-validated accuracy beats guessing (:func:`labellight.ml.baselines.judge`,
   a binomial test against the majority share; it needs 2 labels in every labeled class to be
   cross-validated at all) and there are ``min_labels_per_class`` labels per class on average.
2. Then the hybrid ("hybrid"): uncertain images from distinct clusters, rare predicted classes first
   (uncertainty x diversity x class balance).

Why: TypiClust's typical points pay most while a class has one or two labels, and stop paying once
the head knows the classes: it keeps picking the dense cores the head already gets right, and on
cifar10_5k it ended 1.4 points below random at 200 labels when it ran to the end. A trustworthy head
is the evidence that its uncertainty points at the boundary rather than at noise; the verdict's
margin shrinks with more labels, so on an easy domain the switch comes early and on a hard one late,
with no accuracy threshold tuned to one data set. 2 labels per class on average (of the project's
classes, labeled or not) keeps the cold start until the labels can cover every class.
Measured with `labellight bench` on the frozen ImageNet Lite0 start (6 seeds, rounds to
10/20/50/100/200 labels; docs/label-efficiency.md): the rule kept TypiClust to 50 labels, switched to
the hybrid after 50 or 100 labels, and stayed above random at every budget on both dev sets
(cifar10_5k +13.0 / +16.4 / +8.1 / +2.6 / +1.2 points, fashion_mnist_5k +16.7 / +16.8 / +6.3 / +1.3 /
+2.5).
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
