"""Cold-start selection by probability coverage (ProbCover, Yehuda et al. 2022).

Points are L2-normalised embeddings; the delta-ball of x is B(x) = {x' : ||x - x'||_2 < delta}. A
point is *covered* when it lies in the ball of a labeled (or chosen) point. ProbCover greedily
maximises the covered fraction of the pool ("max probability cover"): on the graph with an edge
x -> x' for every x' in B(x), repeatedly pick the unlabeled point whose ball holds the most
uncovered points, then mark that ball covered. Balls of already-labeled points count as covered.

Choosing delta (when not given), as in the paper: pseudo-label the points with k-means into
``n_classes`` clusters; a ball is *pure* when every point in it has its centre's pseudo-label, and
purity(delta) = P(B(x) is pure). The paper takes the largest delta with purity >= alpha = 0.95.
B(x) is pure exactly when delta <= d_other(x), the distance from x to the nearest point of another
pseudo-label, so that delta is the (1 - alpha) quantile of d_other: one nearest-neighbour search.

Large pools: above ``max_points`` rows, the graph is built on a seeded uniform sample of the pool,
so memory and time stay bounded (the graph on N points has up to N^2 edges); the picks come from
the sample, and the reported coverage is then an unbiased estimate of the whole pool's coverage.
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np
from scipy.sparse import csr_matrix, identity

from labellight.common.vectors import unit_rows
from labellight.selection.clustering import kmeans
from labellight.selection.pool import available_rows, picks
from labellight.selection.suggestion import Suggestion

PURITY = 0.95
DEFAULT_MAX_POINTS = 10_000
# About 240 MB of graph: a delta whose balls hold thousands of points each is a mistake, not a request.
_MAX_EDGES = 20_000_000
_QUERY_BATCH = 2_048


@dataclass(frozen=True)
class CoverSelection:
    """ProbCover's picks and the coverage they reach (fractions of the pool in [0, 1])."""

    suggestions: list[Suggestion]
    delta: float
    coverage_before: float  # covered by the labeled rows alone
    coverage: float  # after adding the picks


def choose_delta(embeddings: np.ndarray, n_classes: int = 10, purity: float = PURITY, seed: int = 0) -> float:
    """The largest ball radius whose purity w.r.t. k-means pseudo-labels is >= ``purity``."""
    if not 0.0 < purity <= 1.0:
        raise ValueError(f"purity must be in (0, 1], got {purity}")
    points = unit_rows(embeddings)
    n_classes = min(n_classes, points.shape[0])
    if n_classes < 2:
        raise ValueError("choosing delta needs at least 2 points and n_classes >= 2")
    pseudo, _ = kmeans(points, n_classes, seed)
    d_other = np.full(points.shape[0], np.inf, np.float64)
    for c in np.unique(pseudo):
        inside, outside = np.flatnonzero(pseudo == c), np.flatnonzero(pseudo != c)
        if outside.shape[0] == 0:
            continue
        index = faiss.IndexFlatL2(points.shape[1])
        index.add(points[outside])
        squared, _ = index.search(points[inside], 1)
        d_other[inside] = np.sqrt(np.maximum(squared[:, 0], 0.0))
    finite = d_other[np.isfinite(d_other)]
    return float(np.quantile(finite, 1.0 - purity)) if finite.shape[0] else 2.0


def select_probcover(
    embeddings: np.ndarray,
    labeled: np.ndarray,
    budget: int,
    delta: float | None = None,
    seed: int = 0,
    *,
    n_classes: int = 10,
    max_points: int = DEFAULT_MAX_POINTS,
    excluded: np.ndarray | None = None,
) -> CoverSelection:
    """Up to ``budget`` unlabeled rows of ``embeddings`` (N, D) by greedy max coverage.

    ``delta``: ball radius (L2 between unit vectors, in (0, 2]); chosen by :func:`choose_delta` with
    ``n_classes`` pseudo-classes (use the project's number of classes) when None. ``reason``:
    delta, ball_gain (points newly covered by this pick, in the sampled graph) and coverage (the
    covered fraction after this pick). Once everything is covered, the rest are random picks.
    ``excluded`` rows (bool mask) are never picked; they still count as points to cover.
    """
    points = unit_rows(embeddings)
    n = points.shape[0]
    available = available_rows(labeled, n, excluded)
    n_picks = picks(budget, int(available.sum()))
    if max_points < 1:
        raise ValueError(f"max_points must be >= 1, got {max_points}")
    rng = np.random.default_rng(seed)
    sample = np.arange(n) if n <= max_points else np.sort(rng.choice(n, max_points, replace=False))
    if delta is None:
        delta = choose_delta(points[sample], n_classes, seed=seed) if sample.shape[0] >= 2 else 2.0
    if not 0.0 < delta <= 2.0:
        raise ValueError(f"delta must be in (0, 2], got {delta}")
    uncovered = _uncovered(points[sample], points[labeled], delta)
    coverage_before = 1.0 - float(uncovered.mean()) if n else 0.0
    if n_picks == 0:
        return CoverSelection([], delta, coverage_before, coverage_before)
    ball = _ball_graph(points[sample], delta)
    chosen = _greedy_cover(ball, uncovered, available[sample], n_picks, rng)
    suggestions = [
        Suggestion(
            index=int(sample[row]),
            reason={"strategy": "probcover", "delta": delta, "ball_gain": gain, "coverage": coverage},
        )
        for row, gain, coverage in chosen
    ]
    final = chosen[-1][2] if chosen else coverage_before
    return CoverSelection(suggestions, delta, coverage_before, final)


def _uncovered(targets: np.ndarray, labeled_points: np.ndarray, delta: float) -> np.ndarray:
    """Bool mask (T,): targets farther than delta from every labeled point."""
    if labeled_points.shape[0] == 0:
        return np.ones(targets.shape[0], bool)
    index = faiss.IndexFlatL2(targets.shape[1])
    index.add(labeled_points)
    squared, _ = index.search(targets, 1)
    far: np.ndarray = squared[:, 0] >= delta * delta
    return far


def _ball_graph(points: np.ndarray, delta: float) -> csr_matrix:
    """Sparse 0/1 (T, T): row x holds B(x), x itself included. ||x - y|| < delta <=> x.y > 1 - delta^2 / 2."""
    n = points.shape[0]
    index = faiss.IndexFlatIP(points.shape[1])
    index.add(points)
    radius = 1.0 - delta * delta / 2.0
    indptr, columns, edges = [np.zeros(1, np.int64)], [], 0
    for start in range(0, n, _QUERY_BATCH):
        lims, _, found = index.range_search(points[start : start + _QUERY_BATCH], radius)
        edges += int(lims[-1])
        if edges > _MAX_EDGES:
            raise ValueError(f"delta {delta:.3f} is too large: balls hold {edges / (start + 1):.0f} points each")
        indptr.append(lims[1:].astype(np.int64) + indptr[-1][-1])
        columns.append(found.astype(np.int64))
    flat_columns = np.concatenate(columns) if columns else np.empty(0, np.int64)
    graph = csr_matrix((np.ones(flat_columns.shape[0], np.int32), flat_columns, np.concatenate(indptr)), (n, n))
    graph = (graph + identity(n, np.int32, format="csr")).tocsr()
    graph.data[:] = 1  # a point found by its own range search and added by the identity counts once
    return graph


def _greedy_cover(
    ball: csr_matrix, uncovered: np.ndarray, available: np.ndarray, n_picks: int, rng: np.random.Generator
) -> list[tuple[int, int, float]]:
    """(row, gain, coverage after) per pick: argmax of uncovered points per ball, lowest row on ties."""
    uncovered = uncovered.copy()
    holders = ball.T.tocsr()  # row y: the points whose ball holds y
    gain = np.asarray(ball @ uncovered.astype(np.int64)).ravel()
    gain[~available] = -1
    chosen: list[tuple[int, int, float]] = []
    for _ in range(min(n_picks, int(available.sum()))):
        row = int(np.argmax(gain))
        if gain[row] <= 0:
            # Everything reachable is covered: the paper falls back to random picks.
            row = int(rng.choice(np.flatnonzero(gain == 0)))
        newly = ball.indices[ball.indptr[row] : ball.indptr[row + 1]]
        newly = newly[uncovered[newly]]
        uncovered[newly] = False
        if newly.shape[0]:
            gain -= np.asarray(holders[newly].sum(axis=0)).ravel()
        gain[row] = -1
        chosen.append((row, int(newly.shape[0]), 1.0 - float(uncovered.mean())))
    return chosen
