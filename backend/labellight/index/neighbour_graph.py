"""The k-nearest-neighbour graph of a set of embeddings, through a :class:`VectorIndex`.

Shared by label propagation, mislabel detection, out-of-distribution calibration and near-duplicate
grouping. The index is exact or IVF by size (see ``vector_index``), so the graph is exact below
``EXACT_BELOW`` rows and approximate (recall@10 ~ 0.99) above.

Building it costs a search per row (tens of seconds at 100k rows), so the embed job builds it once
per backbone with ``GRAPH_K`` neighbours and stores it; requests take a :class:`NeighbourGraph` and
narrow it to the images they need (:meth:`NeighbourGraph.restricted`, :func:`neighbours_within`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from labellight.index.vector_index import VectorIndex

GRAPH_K = 16
"""Neighbours stored per image: the review aids use 10, the rest stand in for neighbours deleted later."""
_SEARCH_CHUNK = 8192


def knn_graph(
    vectors: np.ndarray, k: int, progress: Callable[[float], None] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k most similar *other* rows of ``vectors`` (N, D), unit-norm.

    Returns (scores (N, k') float32 cosine, best first; rows (N, k') int64), k' = min(k, N - 1);
    a row of -1 marks a missing neighbour (possible with an approximate index); missing ones come
    last. ``progress`` is called with the share of rows searched so far.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    n = vectors.shape[0]
    index = VectorIndex.build(vectors, np.arange(n, dtype=np.int64))
    k = min(k, n - 1)
    if k < 1:
        return np.empty((n, 0), np.float32), np.empty((n, 0), np.int64)
    scores = np.empty((n, k), np.float32)
    rows = np.empty((n, k), np.int64)
    for start in range(0, n, _SEARCH_CHUNK):
        if progress is not None:
            progress(start / n)
        own = np.arange(start, min(start + _SEARCH_CHUNK, n))
        scores[own], rows[own] = _without_self(*index.search(vectors[own], k + 1), own, k)
    return scores, rows


def _without_self(scores: np.ndarray, rows: np.ndarray, own: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first k results of each query that are not the query's own row ``own`` (Q,)."""
    # Not always in first place when exact duplicates tie with it; a stable sort keeps -1s last.
    is_self = rows == own[:, None]
    order = np.argsort(is_self, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, order, axis=1), np.take_along_axis(rows, order, axis=1)


@dataclass(frozen=True)
class NeighbourGraph:
    """Each row's nearest other rows: ``scores`` (N, K) float32 cosine, best first, and ``rows`` (N, K)
    int64; -1 in ``rows`` marks a missing neighbour (its score is meaningless) and comes after the
    found ones."""

    scores: np.ndarray
    rows: np.ndarray

    @classmethod
    def build(cls, vectors: np.ndarray, k: int = GRAPH_K,
              progress: Callable[[float], None] | None = None) -> NeighbourGraph:
        """The graph of ``vectors`` (N, D), unit-norm: see :func:`knn_graph`."""
        return cls(*knn_graph(vectors, k, progress))

    def __post_init__(self) -> None:
        if self.rows.ndim != 2 or self.scores.shape != self.rows.shape:
            raise ValueError(f"scores {self.scores.shape} and rows {self.rows.shape} must be the same (N, K)")

    @property
    def n(self) -> int:
        """Number of rows N."""
        return int(self.rows.shape[0])

    @property
    def k(self) -> int:
        """Neighbours held per row K."""
        return int(self.rows.shape[1])

    def first(self, k: int) -> NeighbourGraph:
        """Only each row's ``k`` nearest neighbours (all K when ``k`` >= K)."""
        return NeighbourGraph(self.scores[:, :k], self.rows[:, :k])

    def restricted(self, keep: np.ndarray) -> NeighbourGraph:
        """The graph among the rows where ``keep`` (N,) bool is true, renumbered 0..M-1 in order.

        Neighbours that are not kept are dropped and the later ones move up, so each row holds its
        nearest kept neighbours among its K (and -1 where fewer than K are kept).
        """
        keep = np.asarray(keep)
        if keep.shape != (self.n,) or keep.dtype != np.bool_:
            raise ValueError(f"keep must be a bool array of shape ({self.n},), got {keep.dtype} {keep.shape}")
        renumber = np.full(self.n + 1, -1, np.int64)  # the extra last entry maps -1 to -1
        renumber[np.flatnonzero(keep)] = np.arange(int(keep.sum()))
        rows = renumber[self.rows[keep]]
        order = np.argsort(rows < 0, axis=1, kind="stable")
        return NeighbourGraph(np.take_along_axis(self.scores[keep], order, axis=1),
                              np.take_along_axis(rows, order, axis=1))


def neighbours_within(graph: NeighbourGraph, vectors: np.ndarray, keep: np.ndarray, k: int) -> NeighbourGraph:
    """Each kept row's k nearest other kept rows (as :func:`knn_graph` of ``vectors[keep]``), renumbered.

    A row whose K stored neighbours include k kept ones reads them from ``graph`` (they are its k
    nearest kept rows); only the other rows are searched among the kept vectors. So the cost falls
    as the kept share grows: the graph over the labeled images is nearly free once most are labeled.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if graph.n != vectors.shape[0]:
        raise ValueError(f"the graph has {graph.n} rows but there are {vectors.shape[0]} vectors")
    within = graph.restricted(keep)
    k = min(k, within.n - 1)
    if k < 1:
        return NeighbourGraph(np.empty((within.n, 0), np.float32), np.empty((within.n, 0), np.int64))
    if within.k < k:
        return NeighbourGraph.build(vectors[keep], k)
    scores, rows = within.scores[:, :k].copy(), within.rows[:, :k].copy()
    short = np.flatnonzero(rows[:, k - 1] < 0)
    if short.shape[0]:
        kept = np.ascontiguousarray(vectors[keep])
        index = VectorIndex.build(kept, np.arange(within.n, dtype=np.int64))
        scores[short], rows[short] = _without_self(*index.search(kept[short], k + 1), short, k)
    return NeighbourGraph(scores, rows)
