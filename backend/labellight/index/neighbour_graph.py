"""The k-nearest-neighbour graph of a set of embeddings, through a :class:`VectorIndex`.

Shared by label propagation, mislabel detection, out-of-distribution calibration and near-duplicate
grouping. The index is exact or IVF by size (see ``vector_index``), so the graph is exact below
``EXACT_BELOW`` rows and approximate (recall@10 ~ 0.99) above.
"""

from __future__ import annotations

import numpy as np

from labellight.index.vector_index import VectorIndex


def knn_graph(vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k most similar *other* rows of ``vectors`` (N, D), unit-norm.

    Returns (scores (N, k') float32 cosine, best first; rows (N, k') int64), k' = min(k, N - 1);
    a row of -1 marks a missing neighbour (possible with an approximate index).
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    index = VectorIndex.build(vectors, np.arange(vectors.shape[0], dtype=np.int64))
    k = min(k, vectors.shape[0] - 1)
    if k < 1:
        return np.empty((vectors.shape[0], 0), np.float32), np.empty((vectors.shape[0], 0), np.int64)
    scores, rows = index.search(vectors, k + 1)
    # Drop each row's own entry: not always in first place when exact duplicates tie with it.
    is_self = rows == np.arange(rows.shape[0])[:, None]
    order = np.argsort(is_self, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, order, axis=1), np.take_along_axis(rows, order, axis=1)
