"""Cold-start selection by typicality (TypiClust, Hacohen et al. 2022).

Cluster the embeddings into (#labeled + budget) clusters, then repeatedly take the cluster with
the fewest labeled-or-chosen points (the largest one on ties) and pick its most typical
unchosen unlabeled point. Typicality of x in its cluster C:

    typicality(x) = 1 / ( (1/K) * sum_{x_i in KNN(x) within C} ||x - x_i||_2 ),  K = min(20, |C| - 1)

so dense, representative points of large uncovered regions come first.
"""

from __future__ import annotations

import faiss
import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans

from labellight.selection.pool import picks, unlabeled_rows
from labellight.selection.suggestion import Suggestion

_NEIGHBOURS = 20
# TypiClust's switch: exact k-means is affordable up to about this many clusters.
_MAX_EXACT_KMEANS_CLUSTERS = 50


def cluster(embeddings: np.ndarray, n_clusters: int, seed: int = 0) -> np.ndarray:
    """k-means assignment (N,) int64 of embeddings (N, D) into ``n_clusters`` <= N clusters."""
    if n_clusters == 1:
        return np.zeros(embeddings.shape[0], np.int64)
    model: KMeans | MiniBatchKMeans
    if n_clusters <= _MAX_EXACT_KMEANS_CLUSTERS:
        model = KMeans(n_clusters=n_clusters, n_init=1, random_state=seed)
    else:
        model = MiniBatchKMeans(n_clusters=n_clusters, n_init=3, batch_size=4096, random_state=seed)
    assignment: np.ndarray = model.fit_predict(embeddings).astype(np.int64)
    return assignment


def typicality(points: np.ndarray) -> np.ndarray:
    """Inverse mean L2 distance to the K nearest other points, (M, D) -> (M,); 0 for a singleton."""
    m = points.shape[0]
    k = min(_NEIGHBOURS, m - 1)
    if k < 1:
        return np.zeros(m, np.float64)
    index = faiss.IndexFlatL2(points.shape[1])
    index.add(points)
    squared, _ = index.search(points, k + 1)  # the first neighbour is the point itself
    mean_distance = np.sqrt(np.maximum(squared[:, 1:], 0.0)).mean(axis=1)
    scores: np.ndarray = 1.0 / (mean_distance.astype(np.float64) + 1e-8)
    return scores


def select_typical(embeddings: np.ndarray, labeled: np.ndarray, budget: int, seed: int = 0) -> list[Suggestion]:
    """Up to ``budget`` unlabeled rows of ``embeddings`` (N, D), each the most typical point of a
    cluster not yet covered by a label. ``reason``: cluster, cluster_size, typicality."""
    if embeddings.ndim != 2 or not np.issubdtype(embeddings.dtype, np.floating):
        raise ValueError(f"embeddings must be a float array (N, D), got {embeddings.dtype} {embeddings.shape}")
    candidates = unlabeled_rows(labeled, embeddings.shape[0])
    n_picks = picks(budget, candidates.shape[0])
    if n_picks == 0:
        return []
    points = np.ascontiguousarray(embeddings, dtype=np.float32)
    n_clusters = min(int(labeled.sum()) + n_picks, points.shape[0])
    assignment = cluster(points, n_clusters, seed)
    sizes = np.bincount(assignment, minlength=n_clusters)
    covered = np.bincount(assignment[labeled], minlength=n_clusters)
    remaining = np.bincount(assignment[candidates], minlength=n_clusters)
    queues: dict[int, list[tuple[float, int]]] = {}
    chosen: list[Suggestion] = []
    while len(chosen) < n_picks:
        open_clusters = np.flatnonzero(remaining > 0)
        c = int(min(open_clusters, key=lambda c: (covered[c], -sizes[c], c)))
        if c not in queues:
            # Typicality only for clusters actually visited: it is quadratic in cluster size.
            queues[c] = _typicality_queue(points, labeled, np.flatnonzero(assignment == c))
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


def _typicality_queue(points: np.ndarray, labeled: np.ndarray, members: np.ndarray) -> list[tuple[float, int]]:
    """(typicality, row) of a cluster's unlabeled members, most typical last (lower row on ties)."""
    scores = typicality(points[members])
    unlabeled = ~labeled[members]
    pairs = zip(scores[unlabeled].tolist(), members[unlabeled].tolist(), strict=True)
    ranked = sorted(pairs, key=lambda s: (s[0], -s[1]))
    return [(float(score), int(row)) for score, row in ranked]
