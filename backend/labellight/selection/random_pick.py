"""Random sampling: the baseline every active-learning strategy must beat."""

from __future__ import annotations

import numpy as np

from labellight.selection.pool import picks, unlabeled_rows
from labellight.selection.suggestion import Suggestion


def select_random(
    n: int, labeled: np.ndarray, budget: int, seed: int = 0, *, excluded: np.ndarray | None = None
) -> list[Suggestion]:
    """Up to ``budget`` distinct unlabeled, not ``excluded`` rows of ``n``, uniformly at random (seeded)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    candidates = unlabeled_rows(labeled, n, excluded)
    chosen = np.random.default_rng(seed).choice(candidates, size=picks(budget, candidates.shape[0]), replace=False)
    return [Suggestion(index=int(i), reason={"strategy": "random"}) for i in chosen]
