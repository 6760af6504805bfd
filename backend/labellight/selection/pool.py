"""The candidate pool shared by every strategy: which rows are unlabeled, and how many to pick."""

from __future__ import annotations

import numpy as np


def unlabeled_rows(labeled: np.ndarray, n: int) -> np.ndarray:
    """Indices (M,) int64 of the rows not yet labeled, ascending.

    ``labeled``: bool mask (n,) over the candidate rows.
    """
    if labeled.shape != (n,) or labeled.dtype != np.bool_:
        raise ValueError(f"labeled must be a bool mask of shape ({n},), got {labeled.dtype} {labeled.shape}")
    return np.flatnonzero(~labeled).astype(np.int64)


def picks(budget: int, n_unlabeled: int) -> int:
    """How many suggestions to return: min(budget, #unlabeled); a negative budget is an error."""
    if budget < 0:
        raise ValueError(f"budget must be >= 0, got {budget}")
    return min(budget, n_unlabeled)
