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
    return int(min(budget, n_unlabeled))  # a NumPy integer budget would reach FAISS's C++ API


def embedding_matrix(embeddings: np.ndarray) -> np.ndarray:
    """``embeddings`` (N, D) as a C-contiguous float32 array (what FAISS takes); ValueError otherwise."""
    if embeddings.ndim != 2 or not np.issubdtype(embeddings.dtype, np.floating):
        raise ValueError(f"embeddings must be a float array (N, D), got {embeddings.dtype} {embeddings.shape}")
    return np.ascontiguousarray(embeddings, dtype=np.float32)


def unit_rows(embeddings: np.ndarray) -> np.ndarray:
    """``embeddings`` (N, D) scaled to unit L2 norm, float32 (zero rows stay zero)."""
    points = embedding_matrix(embeddings)
    unit: np.ndarray = points / np.maximum(np.linalg.norm(points, axis=1, keepdims=True), 1e-12)
    return unit
