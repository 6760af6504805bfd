"""Cold-start selection by typicality (TypiClust, Hacohen et al. 2022).

Cluster the embeddings into min(#labeled + budget, 500) clusters (500: the paper's cap), then
repeatedly take the cluster with the fewest labeled-or-chosen points (the largest one on ties)
and pick its most typical unchosen unlabeled point. Typicality of x in its cluster C:

    typicality(x) = 1 / ( (1/K) * sum_{x_i in KNN(x) within C} ||x - x_i||_2 ),  K = min(20, |C| - 1)

so dense, representative points of large uncovered regions come first. In a cluster of more than
``_MAX_SCORED`` unlabeled points, typicality is scored for a seeded random sample of them (against
the whole cluster): the dense core is large, so the sample's best point is a core point, and the
cost stays linear in the cluster size instead of quadratic.
"""

from __future__ import annotations

import faiss
import numpy as np

from labellight.selection.clustering import kmeans
from labellight.selection.pool import available_rows, embedding_matrix, picks
from labellight.selection.suggestion import Suggestion

_NEIGHBOURS = 20
_MAX_SCORED = 2_000
_MAX_CLUSTERS = 500


def typicality(points: np.ndarray, queries: np.ndarray | None = None) -> np.ndarray:
    """Inverse mean L2 distance to the K nearest other points of ``points`` (M, D).

    ``queries``: rows of ``points`` to score (default: all). Returns (len(queries),) float64; 0 for
    a singleton.
    """
    points = embedding_matrix(points)
    rows = np.arange(points.shape[0]) if queries is None else queries
    k = min(_NEIGHBOURS, points.shape[0] - 1)
    if k < 1:
        return np.zeros(rows.shape[0], np.float64)
    index = faiss.IndexFlatL2(points.shape[1])
    index.add(points)
    squared, _ = index.search(points[rows], k + 1)  # the first neighbour is the point itself
    mean_distance = np.sqrt(np.maximum(squared[:, 1:], 0.0)).mean(axis=1)
    scores: np.ndarray = 1.0 / (mean_distance.astype(np.float64) + 1e-8)
    return scores


def select_typical(
    embeddings: np.ndarray, labeled: np.ndarray, budget: int, seed: int = 0, *, excluded: np.ndarray | None = None
) -> list[Suggestion]:
    """Up to ``budget`` unlabeled rows of ``embeddings`` (N, D), each the most typical point of a
    cluster not yet covered by a label. ``reason``: cluster, cluster_size, typicality.

    ``excluded`` rows (bool mask) are never picked but stay in the clusters: excluding a pick gives the
    next most typical point of the same cluster (for the same ``seed``)."""
    points = embedding_matrix(embeddings)
    available = available_rows(labeled, points.shape[0], excluded)
    candidates = np.flatnonzero(available)
    n_picks = picks(budget, candidates.shape[0])
    if n_picks == 0:
        return []
    n_clusters = min(int(labeled.sum()) + n_picks, _MAX_CLUSTERS, points.shape[0])
    assignment, _ = kmeans(points, n_clusters, seed)
    sizes = np.bincount(assignment, minlength=n_clusters)
    covered = np.bincount(assignment[labeled], minlength=n_clusters)
    remaining = np.bincount(assignment[candidates], minlength=n_clusters)
    rng = np.random.default_rng(seed)
    queues: dict[int, list[tuple[float, int]]] = {}
    chosen: list[Suggestion] = []
    while len(chosen) < n_picks:
        open_clusters = np.flatnonzero(remaining > 0)
        c = int(min(open_clusters, key=lambda c: (covered[c], -sizes[c], c)))
        if c not in queues:
            # Typicality only for clusters actually visited.
            queues[c] = _typicality_queue(points, available, np.flatnonzero(assignment == c), rng)
        if not queues[c]:
            remaining[c] = 0  # the scored sample of a big cluster is used up
            continue
        score, row = queues[c].pop()
        covered[c] += 1
        remaining[c] -= 1
        chosen.append(
            Suggestion(
                index=row,
                reason={"strategy": "typical", "cluster": c, "cluster_size": int(sizes[c]), "typicality": score},
            )
        )
    return chosen


def _typicality_queue(
    points: np.ndarray, available: np.ndarray, members: np.ndarray, rng: np.random.Generator
) -> list[tuple[float, int]]:
    """(typicality, row) of a cluster's available members (a sample of them in a big cluster), most
    typical last (lower row on ties)."""
    unlabeled = np.flatnonzero(available[members])
    if unlabeled.shape[0] > _MAX_SCORED:
        unlabeled = np.sort(rng.choice(unlabeled, _MAX_SCORED, replace=False))
    scores = typicality(points[members], unlabeled)
    pairs = zip(scores.tolist(), members[unlabeled].tolist(), strict=True)
    ranked = sorted(pairs, key=lambda s: (s[0], -s[1]))
    return [(float(score), int(row)) for score, row in ranked]
