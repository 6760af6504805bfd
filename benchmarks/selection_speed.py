"""Selection and index speed at project scale: prints seconds per strategy, never fails on time.

    .venv/bin/python benchmarks/selection_speed.py [--n 100000] [--dim 128] [--budget 100]

Data: unit-norm vectors around 100 random centres (the shape of real image embeddings: many
modes, noise within them); probabilities from a random 10-class linear head. Each strategy runs
with a cold pool (no labels) and a warm one (1% of the rows labeled).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import numpy as np

from labellight.index.vector_index import VectorIndex
from labellight.selection.hybrid import select_hybrid
from labellight.selection.k_center import select_k_center
from labellight.selection.probcover import select_probcover
from labellight.selection.random_pick import select_random
from labellight.selection.typical_clusters import select_typical
from labellight.selection.uncertainty import select_entropy, select_least_confidence, select_margin


def _data(n: int, dim: int, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(100, dim))
    x = (centres[rng.integers(0, 100, n)] + rng.normal(scale=0.6, size=(n, dim))).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    logits = x @ rng.normal(scale=8.0, size=(dim, n_classes)).astype(np.float32)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    return x, probs / probs.sum(axis=1, keepdims=True)


T = TypeVar("T")


def _timed(label: str, run: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = run()
    print(f"{label:<34} {time.perf_counter() - start:8.2f} s", flush=True)
    return result


def _strategies(
    x: np.ndarray, probs: np.ndarray, labeled: np.ndarray, budget: int, n_classes: int
) -> dict[str, Callable[[], object]]:
    counts = np.bincount(probs[labeled].argmax(axis=1), minlength=n_classes)
    return {
        "random": partial(select_random, x.shape[0], labeled, budget),
        "typical": partial(select_typical, x, labeled, budget),
        "probcover": partial(select_probcover, x, labeled, budget, n_classes=n_classes),
        "k_center": partial(select_k_center, x, labeled, budget),
        "margin": partial(select_margin, probs, labeled, budget),
        "least_confidence": partial(select_least_confidence, probs, labeled, budget),
        "entropy": partial(select_entropy, probs, labeled, budget),
        "hybrid": partial(select_hybrid, x, probs, labeled, budget, counts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--classes", type=int, default=10)
    args = parser.parse_args()
    x, probs = _data(args.n, args.dim, args.classes, seed=0)
    print(f"{args.n} x {args.dim}-d, budget {args.budget}")
    for name, labeled in (("cold", np.zeros(args.n, bool)), ("1% labeled", np.arange(args.n) % 100 == 0)):
        for strategy, run in _strategies(x, probs, labeled, args.budget, args.classes).items():
            _timed(f"{strategy} ({name})", run)
    ids = np.arange(args.n, dtype=np.int64)
    queries = x[np.random.default_rng(1).choice(args.n, 1000, replace=False)]
    exact = _timed("index build exact", partial(VectorIndex.build, x, ids, "exact"))
    ivf = _timed("index build ivf", partial(VectorIndex.build, x, ids, "ivf"))
    _, truth = _timed("search exact (1000 queries, k=10)", partial(exact.search, queries, 10))
    _, found = _timed("search ivf (1000 queries, k=10)", partial(ivf.search, queries, 10))
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)])
    print(f"ivf recall@10 vs exact: {recall:.4f}")


if __name__ == "__main__":
    main()
