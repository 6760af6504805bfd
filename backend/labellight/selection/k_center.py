"""Diversity selection by k-center greedy (core-set, Sener & Savarese 2018).

Farthest-first traversal: repeatedly pick the unlabeled point u maximising
min_{c in labeled + chosen} ||x_u - x_c||_2, the 2-approximation of the k-center problem, so the
chosen set plus the labels cover the pool with the smallest radius. Without labels the traversal
starts from one seeded random point. Distances to the labeled set come from one FAISS search;
each pick then updates the running minimum with one matrix-vector product, O(N D) per pick.
"""

from __future__ import annotations

import faiss
import numpy as np

from labellight.selection.pool import available_rows, embedding_matrix, picks
from labellight.selection.suggestion import Suggestion


def select_k_center(
    embeddings: np.ndarray, labeled: np.ndarray, budget: int, seed: int = 0, *, excluded: np.ndarray | None = None
) -> list[Suggestion]:
    """Up to ``budget`` unlabeled, not ``excluded`` rows of ``embeddings`` (N, D), farthest first.

    ``reason``: distance (L2 to the nearest labeled or earlier-chosen point when picked); the
    random first pick of an unlabeled pool has ``start: "random"`` instead.
    """
    points = embedding_matrix(embeddings)
    available = available_rows(labeled, points.shape[0], excluded)
    candidates = np.flatnonzero(available)
    n_picks = picks(budget, candidates.shape[0])
    if n_picks == 0:
        return []
    squared_norms = np.einsum("ij,ij->i", points, points)
    chosen: list[Suggestion] = []
    if labeled.any():
        index = faiss.IndexFlatL2(points.shape[1])
        index.add(points[labeled])
        nearest, _ = index.search(points, 1)
        min_squared = np.maximum(nearest[:, 0].astype(np.float64), 0.0)
    else:
        start = int(np.random.default_rng(seed).choice(candidates))
        chosen.append(Suggestion(index=start, reason={"strategy": "k_center", "start": "random"}))
        min_squared = _squared_distances(points, squared_norms, start)
    available[[s.index for s in chosen]] = False
    while len(chosen) < n_picks:
        row = int(np.argmax(np.where(available, min_squared, -1.0)))
        chosen.append(
            Suggestion(index=row, reason={"strategy": "k_center", "distance": float(np.sqrt(min_squared[row]))})
        )
        available[row] = False
        min_squared = np.minimum(min_squared, _squared_distances(points, squared_norms, row))
    return chosen


def _squared_distances(points: np.ndarray, squared_norms: np.ndarray, row: int) -> np.ndarray:
    """||x_i - x_row||^2 for every i, (N,) float64, clipped at 0 against rounding."""
    squared = squared_norms - 2.0 * (points @ points[row]) + squared_norms[row]
    clipped: np.ndarray = np.maximum(squared.astype(np.float64), 0.0)
    return clipped
