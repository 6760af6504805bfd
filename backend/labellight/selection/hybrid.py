"""Uncertain, diverse and class-balanced picks once a classifier is useful.

In the spirit of Cluster-Margin (Citovsky et al. 2021): take the ``pool_factor * budget`` unlabeled
rows with the smallest margin p(1) - p(2), cluster their embeddings with k-means into ``budget``
clusters, and pick at most one row per cluster, so a batch does not spend its labels on
near-copies along one stretch of the decision boundary. Class balance: among the clusters not yet
used, the next pick is the row whose predicted class has the fewest labels (counting the rows
already picked in this batch), the smallest margin on ties. Rare classes get labels first, which
is where a class-balanced linear head gains most.
"""

from __future__ import annotations

import numpy as np

from labellight.selection.clustering import kmeans
from labellight.selection.pool import embedding_matrix, picks, unlabeled_rows
from labellight.selection.suggestion import Suggestion
from labellight.selection.uncertainty import margin_scores

DEFAULT_POOL_FACTOR = 10


def select_hybrid(
    embeddings: np.ndarray,
    probs: np.ndarray,
    labeled: np.ndarray,
    budget: int,
    label_counts: np.ndarray,
    seed: int = 0,
    *,
    pool_factor: int = DEFAULT_POOL_FACTOR,
    excluded: np.ndarray | None = None,
) -> list[Suggestion]:
    """Up to ``budget`` unlabeled rows: uncertain, one per cluster, rare predicted classes first.

    ``embeddings`` (N, D); ``probs`` (N, C) from the classifier; ``label_counts`` (C,): labels per
    column of ``probs``. ``reason``: margin, cluster, predicted_class_index (a column of ``probs``)
    and class_labels (that class's labels plus earlier picks of this batch). ``excluded`` rows (bool
    mask) are never picked.
    """
    points = embedding_matrix(embeddings)
    margins = margin_scores(probs)
    if probs.shape[0] != points.shape[0]:
        raise ValueError(f"got {points.shape[0]} embeddings but {probs.shape[0]} rows of probabilities")
    counts = np.asarray(label_counts)
    if counts.shape != (probs.shape[1],) or not np.issubdtype(counts.dtype, np.integer) or (counts < 0).any():
        raise ValueError(f"label_counts must be {probs.shape[1]} counts >= 0, got {counts.dtype} {counts.shape}")
    if pool_factor < 1:
        raise ValueError(f"pool_factor must be >= 1, got {pool_factor}")
    candidates = unlabeled_rows(labeled, points.shape[0], excluded)
    n_picks = picks(budget, candidates.shape[0])
    if n_picks == 0:
        return []
    pool = candidates[np.argsort(margins[candidates], kind="stable")[: pool_factor * n_picks]]
    cluster, _ = kmeans(points[pool], n_picks, seed)
    predicted = probs[pool].argmax(axis=1)
    counts = counts.astype(np.int64)
    taken = np.zeros(pool.shape[0], bool)
    used_clusters = np.zeros(n_picks, bool)
    chosen: list[Suggestion] = []
    for _ in range(n_picks):
        open_rows = ~taken & ~used_clusters[cluster]
        if not open_rows.any():  # fewer distinct clusters than picks (duplicate embeddings)
            open_rows = ~taken
        # Lexicographic (class labels, margin): pool rows are sorted by margin, so the first open
        # row with the fewest class labels is the one.
        need = np.where(open_rows, counts[predicted], np.iinfo(np.int64).max)
        j = int(np.argmin(need))
        c, k = int(cluster[j]), int(predicted[j])
        chosen.append(
            Suggestion(
                index=int(pool[j]),
                reason={
                    "strategy": "hybrid",
                    "margin": float(margins[pool[j]]),
                    "cluster": c,
                    "predicted_class_index": k,
                    "class_labels": int(counts[k]),
                },
            )
        )
        counts[k] += 1
        taken[j] = used_clusters[c] = True
    return chosen
