"""The candidate pool shared by every strategy: which rows may be suggested, and how many to pick."""

from __future__ import annotations

import numpy as np


def available_rows(labeled: np.ndarray, n: int, excluded: np.ndarray | None = None) -> np.ndarray:
    """Bool mask (n,) of the rows a strategy may suggest: neither labeled nor excluded.

    ``labeled``: bool mask (n,) over the candidate rows; ``excluded``: bool mask (n,) of rows to
    leave out (e.g. images the user skipped), or None. Excluded rows still count as data (clusters,
    density, coverage); they are only never suggested.
    """
    _check_mask("labeled", labeled, n)
    if excluded is None:
        return ~labeled
    _check_mask("excluded", excluded, n)
    available: np.ndarray = ~labeled & ~excluded
    return available


def unlabeled_rows(labeled: np.ndarray, n: int, excluded: np.ndarray | None = None) -> np.ndarray:
    """Indices (M,) int64 of the rows a strategy may suggest (see :func:`available_rows`), ascending."""
    return np.flatnonzero(available_rows(labeled, n, excluded)).astype(np.int64)


def _check_mask(name: str, mask: np.ndarray, n: int) -> None:
    if mask.shape != (n,) or mask.dtype != np.bool_:
        raise ValueError(f"{name} must be a bool mask of shape ({n},), got {mask.dtype} {mask.shape}")


def picks(budget: int, n_unlabeled: int) -> int:
    """How many suggestions to return: min(budget, #unlabeled); a negative budget is an error."""
    if budget < 0:
        raise ValueError(f"budget must be >= 0, got {budget}")
    return int(min(budget, n_unlabeled))  # a NumPy integer budget would reach FAISS's C++ API


def embedding_matrix(embeddings: np.ndarray) -> np.ndarray:
    """``embeddings`` (N, D) as a C-contiguous float32 array (what FAISS takes); ValueError otherwise."""
    if embeddings.ndim != 2 or not np.issubdtype(embeddings.dtype, np.floating):
        raise ValueError(f"embeddings must be a float array (N, D), got {embeddings.dtype} {embeddings.shape}")
    return np.ascontiguousarray(embeddings, dtype=np.float32)


