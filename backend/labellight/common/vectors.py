"""L2-normalised rows: the one normaliser of the classifier head, the review aids, the selection strategies
and the backbone guard."""

from __future__ import annotations

import numpy as np


def unit_rows(x: np.ndarray, min_rows: int = 0) -> np.ndarray:
    """Rows of ``x`` (N, D) scaled to unit L2 norm, as a C-contiguous float32 array (zero rows stay zero).

    ValueError unless ``x`` is a float array (N, D) with N >= ``min_rows``."""
    if x.ndim != 2 or x.shape[0] < min_rows or not np.issubdtype(x.dtype, np.floating):
        rows = f" with N >= {min_rows}" if min_rows else ""
        raise ValueError(f"embeddings must be a float array (N, D){rows}, got {x.dtype} {x.shape}")
    points = np.ascontiguousarray(x, dtype=np.float32)
    unit: np.ndarray = points / np.maximum(np.linalg.norm(points, axis=1, keepdims=True), 1e-12)
    return unit
