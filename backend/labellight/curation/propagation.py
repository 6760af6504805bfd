"""Label propagation over the kNN graph of the embeddings (Iscen et al. 2019, after Zhou et al. 2004).

Graph: each row's k nearest other rows (FAISS), affinities a_ij = max(0, cos(x_i, x_j))^gamma,
made symmetric W = A + A^T and normalised W_n = D^-1/2 W D^-1/2 (D = diag(W 1)). With Y (N, C)
the one-hot labels (zero rows for unlabeled images), label spreading solves

    (I - alpha W_n) Z = Y          (conjugate gradient, one column per class)

so labels diffuse along the data manifold. The tentative label of a row is argmax_c Z_ic and its
confidence the share Z_ic / sum_c Z_ic of the label mass that reaches it from that class. A row no
label reaches (a cluster with no label in it, or more graph hops from every label than the 20
conjugate-gradient steps travel) gets -1 and confidence 0.

The graph is the costly part at scale (a search per row); pass the one the embed job stored as
``graph`` and only the sparse solve runs.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix, diags, identity

from labellight.common.vectors import unit_rows
from labellight.index.neighbour_graph import NeighbourGraph, knn_graph

DEFAULT_K = 10
ALPHA = 0.99
GAMMA = 3.0
_CG_ITERATIONS = 20  # Iscen et al.: 20 conjugate-gradient steps suffice for the ranking of classes


def propagate_labels(
    embeddings: np.ndarray, labels: np.ndarray, k: int = DEFAULT_K, alpha: float = ALPHA, gamma: float = GAMMA,
    *, graph: NeighbourGraph | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Tentative labels for ``embeddings`` (N, D) from ``labels`` (N,) int (-1 = unlabeled).

    ``graph``: the kNN graph of ``embeddings`` when already built (its first ``k`` neighbours are used).

    Returns (tentative (N,) int64, confidence (N,) float64 in [0, 1]). Labeled rows keep their
    label with confidence 1; unreached rows get -1 with confidence 0.
    """
    x = unit_rows(embeddings, min_rows=1)
    labels = np.asarray(labels)
    if labels.shape != (x.shape[0],) or not np.issubdtype(labels.dtype, np.integer) or (labels < -1).any():
        raise ValueError(f"labels must be class ids >= 0 or -1, shape ({x.shape[0]},), got {labels.dtype}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if graph is not None and graph.n != x.shape[0]:
        raise ValueError(f"the graph has {graph.n} rows but there are {x.shape[0]} embeddings")
    labeled = labels >= 0
    tentative = np.where(labeled, labels, -1).astype(np.int64)
    confidence = labeled.astype(np.float64)
    if not labeled.any() or labeled.all():
        return tentative, confidence
    classes, column = np.unique(labels[labeled], return_inverse=True)
    scores, rows = knn_graph(x, k) if graph is None else (graph.scores[:, :k], graph.rows[:, :k])
    spread = _label_spreading(scores, rows, labeled, column, classes.shape[0], alpha, gamma)
    mass = spread.sum(axis=1)
    reached = ~labeled & (mass > 0)
    tentative[reached] = classes[spread[reached].argmax(axis=1)]
    confidence[reached] = spread[reached].max(axis=1) / mass[reached]
    return tentative, confidence


def _label_spreading(
    scores: np.ndarray, rows: np.ndarray, labeled: np.ndarray, column: np.ndarray, n_classes: int, alpha: float,
    gamma: float,
) -> np.ndarray:
    """Z (N, C) >= 0, the solution of (I - alpha W_n) Z = Y on the graph (``scores``, ``rows``)."""
    n = rows.shape[0]
    keep = rows >= 0
    affinity = np.maximum(scores[keep].astype(np.float64), 0.0) ** gamma
    sources = np.broadcast_to(np.arange(n)[:, None], rows.shape)[keep]
    a = coo_matrix((affinity, (sources, rows[keep])), shape=(n, n)).tocsr()
    w = a + a.T
    degree = np.asarray(w.sum(axis=1)).ravel()
    scale = diags(1.0 / np.sqrt(np.maximum(degree, 1e-12)))
    system = (identity(n, format="csr") - alpha * (scale @ w @ scale)).tocsr()
    y = np.zeros((n, n_classes))
    y[np.flatnonzero(labeled), column] = 1.0
    spread: np.ndarray = np.maximum(_conjugate_gradients(system, y), 0.0)  # tiny negative values: round-off
    return spread


def _conjugate_gradients(system: csr_matrix, y: np.ndarray, rtol: float = 1e-6,
                         iterations: int = _CG_ITERATIONS) -> np.ndarray:
    """Z (N, C) with system @ Z ~ Y: conjugate gradients on every column at once (the steps of scipy's
    ``cg`` per column, but one sparse product per step for all classes, and no BLAS calls)."""
    z = np.zeros_like(y)
    residual = y.copy()
    direction = residual.copy()
    squared = (residual * residual).sum(axis=0)
    tolerance = rtol**2 * (y * y).sum(axis=0)
    for _ in range(iterations):
        active = squared > tolerance  # a column stops once its residual is small enough
        if not active.any():
            break
        product = system @ direction
        curvature = (direction * product).sum(axis=0)
        step = np.where(active, squared / np.where(curvature > 0, curvature, 1.0), 0.0)
        z += step * direction
        residual -= step * product
        new_squared = (residual * residual).sum(axis=0)
        direction = residual + np.where(active, new_squared / np.where(squared > 0, squared, 1.0), 0.0) * direction
        squared = np.where(active, new_squared, squared)
    return z
