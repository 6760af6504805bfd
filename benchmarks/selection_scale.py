"""P6: every selection strategy and a classifier retrain at 100k and 1M images; prints, never fails on time.

    .venv/bin/python benchmarks/selection_scale.py --n 100000 --dim 1280
    .venv/bin/python benchmarks/selection_scale.py --n 1000000 --dim 128

Synthetic embeddings as in selection_speed.py (unit-norm, 100 centres; the class of a point is its
centre modulo 10), ``--labeled`` of them labeled (2% of those labels wrong). "retrain" is what the
train job computes: the cross-validated logistic-regression head on the labeled rows, the out-of-fold
predictions behind its report, then the probabilities of every image that the uncertainty strategies
rank. Each strategy then picks ``--budget`` images among the unlabeled ones. One FAISS and one BLAS
thread (the defaults on small machines). Peak RSS is printed at the end.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import numpy as np

from labellight.common.threads import set_blas_threads
from labellight.index.faiss_threads import set_faiss_threads
from labellight.ml.classifier import train_linear_head
from labellight.selection.hybrid import select_hybrid
from labellight.selection.k_center import select_k_center
from labellight.selection.probcover import select_probcover
from labellight.selection.random_pick import select_random
from labellight.selection.typical_clusters import select_typical
from labellight.selection.uncertainty import select_entropy, select_least_confidence, select_margin

T = TypeVar("T")


def _data(n: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(100, dim)).astype(np.float32)
    centre = rng.integers(0, 100, n)
    x = np.empty((n, dim), np.float32)
    for start in range(0, n, 100_000):  # in chunks: no float64 copy of the whole
        stop = min(n, start + 100_000)
        x[start:stop] = centres[centre[start:stop]] + rng.normal(scale=0.6, size=(stop - start, dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x, centre % 10


def _timed(label: str, run: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = run()
    print(f"{label:<40} {time.perf_counter() - start:8.2f} s", flush=True)
    return result


def _retrain(x: np.ndarray, labeled: np.ndarray, y: np.ndarray) -> np.ndarray:
    training = train_linear_head(x[labeled], y)  # the head, its cross-validated accuracy, out-of-fold report
    probs: np.ndarray = training.head.predict_proba(x)
    return probs


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=1280)
    parser.add_argument("--labeled", type=float, default=0.01)
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--skip", nargs="*", default=[], help="strategies not to run")
    args = parser.parse_args()
    set_faiss_threads(1)
    set_blas_threads(1)
    x, classes = _timed("synthetic embeddings", lambda: _data(args.n, args.dim, seed=0))
    rng = np.random.default_rng(1)
    labeled = rng.random(args.n) < args.labeled
    y = classes[labeled].copy()
    wrong = rng.choice(len(y), max(1, len(y) // 50), replace=False)
    y[wrong] = (y[wrong] + 1) % 10
    print(f"{args.n} x {args.dim}-d, {labeled.sum()} labeled, budget {args.budget}")
    probs = _timed(f"retrain ({labeled.sum()} labels, all probs)", partial(_retrain, x, labeled, y))
    counts = np.bincount(y, minlength=10)
    strategies: dict[str, Callable[[], object]] = {
        "random": partial(select_random, args.n, labeled, args.budget),
        "margin": partial(select_margin, probs, labeled, args.budget),
        "least_confidence": partial(select_least_confidence, probs, labeled, args.budget),
        "entropy": partial(select_entropy, probs, labeled, args.budget),
        "hybrid": partial(select_hybrid, x, probs, labeled, args.budget, counts),
        "k_center": partial(select_k_center, x, labeled, args.budget),
        "probcover": partial(select_probcover, x, labeled, args.budget, n_classes=10),
        "typical": partial(select_typical, x, labeled, args.budget),
    }
    for name, run in strategies.items():
        if name not in args.skip:
            _timed(name, run)
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB")


if __name__ == "__main__":
    main()
