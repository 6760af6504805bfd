"""Near-duplicate groups: connected components of the graph "cosine similarity >= threshold".

Edges come from the k-nearest-neighbour graph, so a group larger than k + 1 is still found as
long as its members are chained by close pairs (the usual case for re-encoded or resized copies).
Pass the stored graph as ``graph`` to skip building it.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from labellight.index.neighbour_graph import NeighbourGraph, knn_graph
from labellight.index.vector_index import VectorIndex

DEFAULT_THRESHOLD = 0.95
_NEIGHBOURS = 10


def near_duplicate_groups(
    source: VectorIndex | np.ndarray,
    ids: np.ndarray | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    k: int = _NEIGHBOURS,
    *,
    graph: NeighbourGraph | None = None,
) -> list[list[int]]:
    """Groups (>= 2 members) of ids whose embeddings are near duplicates, cosine >= ``threshold``.

    ``source``: unit-norm vectors (N, D) with their ``ids`` (N,), or a :class:`VectorIndex`
    (then ``ids`` must be omitted: the index's own ids are used). Each group is sorted; groups are
    ordered by their smallest id. ``graph``: the kNN graph of the vectors when already built (its
    rows are the vectors' rows).
    """
    if not -1.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be a cosine in [-1, 1], got {threshold}")
    if isinstance(source, VectorIndex):
        if ids is not None:
            raise ValueError("pass ids only with vectors; an index brings its own ids")
        ids, vectors = source.reconstruct_all()
    else:
        if ids is None:
            raise ValueError("ids are required with vectors")
        vectors = source
        if ids.ndim != 1 or ids.shape[0] != vectors.shape[0]:
            raise ValueError(f"got {vectors.shape[0]} vectors but ids of shape {ids.shape}")
    n = vectors.shape[0]
    if graph is not None and graph.n != n:
        raise ValueError(f"the graph has {graph.n} rows but there are {n} vectors")
    if n < 2:
        return []
    scores, rows = knn_graph(vectors, k) if graph is None else (graph.scores[:, :k], graph.rows[:, :k])
    close = (scores >= threshold) & (rows >= 0)
    source_rows = np.broadcast_to(np.arange(n)[:, None], rows.shape)[close]
    graph = coo_matrix((np.ones(source_rows.shape[0], np.int8), (source_rows, rows[close])), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    sizes = np.bincount(component)
    groups: dict[int, list[int]] = {}
    for row in np.flatnonzero(sizes[component] > 1):
        groups.setdefault(int(component[row]), []).append(int(ids[row]))
    return sorted((sorted(group) for group in groups.values()), key=lambda group: group[0])
