"""Suspected mislabels: labeled images whose neighbours and out-of-fold prediction both disagree.

Two independent witnesses against a given label y_i of row i:

- its k nearest labeled neighbours (deep kNN, Bahri et al. 2020): the share q_i(c) of them
  labeled c; they disagree when some other class has a larger share than y_i;
- the linear head trained without it (out-of-fold, cross-validation; the "confident learning"
  view of Northcutt et al. 2021): probability p_i(c); it disagrees when its argmax is not y_i.

A row is suspected when both disagree. Its score is 1 - (q_i(y_i) + p_i(y_i)) / 2 in [0, 1]
(1: no neighbour and no held-out head supports the label), and the suggested label is the other
class with the largest (q_i(c) + p_i(c)) / 2. Only classes with >= 2 labels take part (a single
label cannot be cross-validated).

With the stored kNN graph of all the embeddings (``graph``), the labeled neighbours of most rows are
read from it and only the rest are searched (see ``neighbours_within``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labellight.common.vectors import unit_rows
from labellight.index.neighbour_graph import NeighbourGraph, knn_graph, neighbours_within
from labellight.ml.classifier import DEFAULT_C
from labellight.ml.metrics import DEFAULT_FOLDS, cross_val_predictions

DEFAULT_K = 10


@dataclass(frozen=True)
class SuspectedMislabel:
    """``row`` of the embeddings; ``neighbour_share`` = q(given), ``cv_probability`` = p(given)."""

    row: int
    given_label: int
    suggested_label: int
    score: float
    neighbour_share: float
    cv_probability: float


def suspected_mislabels(
    embeddings: np.ndarray,
    labels: np.ndarray,
    k: int = DEFAULT_K,
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    *,
    c: float = DEFAULT_C,
    graph: NeighbourGraph | None = None,
) -> list[SuspectedMislabel]:
    """Labeled rows of ``embeddings`` (N, D) whose ``labels`` (N,) int (-1 = unlabeled) look wrong,
    most suspicious first. ``graph``: the kNN graph of ``embeddings`` when already built."""
    x = unit_rows(embeddings, min_rows=1)
    labels = np.asarray(labels)
    if labels.shape != (x.shape[0],) or not np.issubdtype(labels.dtype, np.integer) or (labels < -1).any():
        raise ValueError(f"labels must be class ids >= 0 or -1, shape ({x.shape[0]},), got {labels.dtype}")
    if graph is not None and graph.n != x.shape[0]:
        raise ValueError(f"the graph has {graph.n} rows but there are {x.shape[0]} embeddings")
    classes, counts = np.unique(labels[labels >= 0], return_counts=True)
    rows = np.flatnonzero(np.isin(labels, classes[counts >= 2]))
    if np.unique(labels[rows]).shape[0] < 2:
        return []
    given = labels[rows].astype(np.int64)
    held_out = cross_val_predictions(x[rows], given, folds, seed, c=c)
    column = np.searchsorted(held_out.classes, given)
    if graph is None:
        _, neighbours = knn_graph(x[rows], k)
    else:
        in_rows = np.zeros(x.shape[0], bool)
        in_rows[rows] = True
        neighbours = neighbours_within(graph, x, in_rows, k).rows
    share = _neighbour_shares(neighbours, column, held_out.classes.shape[0])
    support = (share + held_out.probs) / 2
    at = np.arange(rows.shape[0])
    others_share = np.where(np.eye(share.shape[1], dtype=bool)[column], -1.0, share).max(axis=1)
    suspected = (others_share > share[at, column]) & (held_out.labels != given)
    support[at, column] = -1.0
    suggested = held_out.classes[support.argmax(axis=1)]
    found = [
        SuspectedMislabel(
            row=int(rows[i]),
            given_label=int(given[i]),
            suggested_label=int(suggested[i]),
            score=float(1.0 - (share[i, column[i]] + held_out.probs[i, column[i]]) / 2),
            neighbour_share=float(share[i, column[i]]),
            cv_probability=float(held_out.probs[i, column[i]]),
        )
        for i in np.flatnonzero(suspected)
    ]
    return sorted(found, key=lambda m: (-m.score, m.row))


def _neighbour_shares(neighbours: np.ndarray, column: np.ndarray, n_classes: int) -> np.ndarray:
    """q (M, C): share of each row's nearest other labeled rows ``neighbours`` (M, k) carrying each class."""
    m = neighbours.shape[0]
    found = neighbours >= 0
    owner = np.broadcast_to(np.arange(m)[:, None], neighbours.shape)[found]
    share = np.zeros((m, n_classes))
    np.add.at(share, (owner, column[neighbours[found]]), 1.0)
    share /= np.maximum(found.sum(axis=1, keepdims=True), 1)
    return share
