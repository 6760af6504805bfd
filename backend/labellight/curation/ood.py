"""Out-of-distribution flag: is a query far from everything the project holds?

Calibration: for every embedding of the project, the L2 distance to its nearest *other*
embedding; the threshold is a high percentile of these (99th by default), so about 1% of the
project's own images would count as outliers. A query whose nearest indexed embedding is farther
than the threshold lies outside the data the features and the head were fitted on, and its
prediction deserves less trust (a nearest-neighbour distance detector, as in Sun et al. 2022,
"Out-of-distribution detection with deep nearest neighbors"). Distances are between unit vectors:
||a - b|| = sqrt(2 - 2 cos(a, b)) in [0, 2].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labellight.common.vectors import unit_rows
from labellight.index.neighbour_graph import NeighbourGraph, knn_graph
from labellight.index.vector_index import VectorIndex

DEFAULT_PERCENTILE = 99.0


def _distance(cosine: np.ndarray) -> np.ndarray:
    distance: np.ndarray = np.sqrt(np.maximum(2.0 - 2.0 * cosine.astype(np.float64), 0.0))
    return distance


@dataclass(frozen=True)
class OodCalibration:
    """``threshold``: nearest-neighbour distance beyond which a query is out of distribution."""

    threshold: float
    percentile: float = DEFAULT_PERCENTILE

    def is_out_of_distribution(self, query_vectors: np.ndarray, index: VectorIndex) -> tuple[np.ndarray, np.ndarray]:
        """For queries (Q, D): (flags (Q,) bool, distance to the nearest indexed vector (Q,) float64).

        A query that is itself indexed (an image of the project) is at distance 0.
        """
        if index.ntotal == 0:
            raise ValueError("the index is empty: nothing to compare the queries with")
        scores, _ = index.search(unit_rows(query_vectors, min_rows=1), 1)
        distance = _distance(scores[:, 0])
        flags: np.ndarray = distance > self.threshold
        return flags, distance


def calibrate_ood(embeddings: np.ndarray, percentile: float = DEFAULT_PERCENTILE, *,
                  graph: NeighbourGraph | None = None) -> OodCalibration:
    """The ``percentile`` of each embedding's distance to its nearest other one, over ``embeddings`` (N, D).

    ``graph``: the kNN graph of ``embeddings`` when already built (its first column is used).
    """
    if not 0.0 < percentile <= 100.0:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    x = unit_rows(embeddings, min_rows=1)
    if x.shape[0] < 2:
        raise ValueError("calibration needs at least 2 embeddings")
    if graph is not None and graph.n != x.shape[0]:
        raise ValueError(f"the graph has {graph.n} rows but there are {x.shape[0]} embeddings")
    scores, rows = knn_graph(x, 1) if graph is None else (graph.scores[:, :1], graph.rows[:, :1])
    nearest = _distance(scores[rows[:, 0] >= 0, 0])
    return OodCalibration(threshold=float(np.percentile(nearest, percentile)), percentile=percentile)
