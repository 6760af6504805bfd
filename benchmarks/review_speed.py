"""Review aids at project scale, before and after the stored kNN graph: prints seconds, never fails on time.

    .venv/bin/python benchmarks/review_speed.py [--n 100000] [--dim 128] [--labeled 0.01 0.1]

"before": what a request used to do, the service call building the kNN graph itself. "after": what it
does now, reading the graph the embed job stored, narrowing it to the images that still exist (1% of
them deleted here) and doing only the per-label work. "job": what the embed job adds to build it.
Data as in selection_speed.py: unit-norm vectors around 100 centres, the class of a point is its
centre modulo 10. One FAISS and one BLAS thread (the defaults on small machines).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np

from labellight.common.threads import set_blas_threads
from labellight.curation.mislabels import suspected_mislabels
from labellight.curation.near_duplicates import near_duplicate_groups
from labellight.curation.ood import calibrate_ood
from labellight.curation.propagation import propagate_labels
from labellight.index.faiss_threads import set_faiss_threads
from labellight.index.neighbour_graph import NeighbourGraph

T = TypeVar("T")


def _data(n: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centre = rng.integers(0, 100, n)
    x = (rng.normal(size=(100, dim))[centre] + rng.normal(scale=0.6, size=(n, dim))).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x, centre % 10


def _timed(label: str, run: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = run()
    print(f"{label:<52} {time.perf_counter() - start:8.2f} s", flush=True)
    return result


def _labels(classes: np.ndarray, share: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    labels = np.where(rng.random(classes.shape[0]) < share, classes, -1)
    wrong = rng.choice(np.flatnonzero(labels >= 0), max(1, int(0.02 * (labels >= 0).sum())), replace=False)
    labels[wrong] = (labels[wrong] + 1) % 10  # 2% of the labels wrong
    return labels


def _stored_graph(path: Path, keep: np.ndarray) -> NeighbourGraph:
    with np.load(path, allow_pickle=False) as data:
        return NeighbourGraph(scores=data["scores"], rows=data["rows"]).restricted(keep)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--labeled", type=float, nargs="+", default=[0.01, 0.1])
    parser.add_argument("--skip-before", action="store_true", help="only the job and the new request path")
    args = parser.parse_args()
    set_faiss_threads(1)
    set_blas_threads(1)
    x, classes = _data(args.n, args.dim, seed=0)
    keep = np.random.default_rng(1).random(args.n) >= 0.01  # images deleted since the embed
    kept, kept_classes = x[keep], classes[keep]
    ids = np.flatnonzero(keep)
    print(f"{args.n} x {args.dim}-d, {args.n - kept.shape[0]} deleted since the embed")

    graph = _timed("job: kNN graph, k=16", lambda: NeighbourGraph.build(x))
    _timed("job: OOD calibration from the graph", lambda: calibrate_ood(x, graph=graph))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "neighbours.npz"
        np.savez(path, ids=np.arange(args.n), scores=graph.scores, rows=graph.rows)
        narrowed = _timed("after: load the stored graph, drop deleted images", lambda: _stored_graph(path, keep))

    _timed("after: near-duplicate groups", lambda: near_duplicate_groups(kept, ids, graph=narrowed))
    if not args.skip_before:
        _timed("before: near-duplicate groups", lambda: near_duplicate_groups(kept, ids))
        _timed("before: OOD calibration in the job", lambda: calibrate_ood(x))
    for share in args.labeled:
        labels = _labels(kept_classes, share, seed=2)
        tag = f"{share:.0%} labeled"
        _timed(f"after: propagated labels ({tag})", partial(propagate_labels, kept, labels, graph=narrowed))
        _timed(f"after: mislabels ({tag})", partial(suspected_mislabels, kept, labels, graph=narrowed))
        if not args.skip_before:
            _timed(f"before: propagated labels ({tag})", partial(propagate_labels, kept, labels))
            _timed(f"before: mislabels ({tag})", partial(suspected_mislabels, kept, labels))


if __name__ == "__main__":
    main()
