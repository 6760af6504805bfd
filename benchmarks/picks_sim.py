"""The labeling loop simulated on cached embeddings: which picks pay, per budget, against random.

    .venv/bin/python benchmarks/picks_sim.py [--sets cifar10_5k fashion_mnist_5k] [--seeds 6]
        [--strategies random typical auto] [--budgets 10 20 50 100 200] [--cache /tmp/labellight-picks]

Reads ``CACHE/<set>.npz`` (benchmarks/picks_embed.py: the frozen default backbone's embeddings of the
train and test splits). For each strategy and seed, labels are gathered in rounds up to each budget as
``labellight bench`` does (one batch per budget step), the app's head (``train_linear_head``) is fitted on
them and scored on the test split. ``auto`` is the app's rule (:mod:`labellight.selection.auto_strategy`)
on the head's cross-validated accuracy. Figures are printed (mean ± std over seeds, and auto - random);
never asserted. A quick study tool: confirm with ``labellight bench``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from labellight.ml.blas_threads import set_blas_threads

from labellight.ml.baselines import judge
from labellight.ml.classifier import HeadTraining, train_linear_head
from labellight.selection.auto_strategy import choose_strategy
from labellight.selection.hybrid import select_hybrid
from labellight.selection.random_pick import select_random
from labellight.selection.typical_clusters import select_typical

Picker = Callable[[np.ndarray, np.ndarray, np.ndarray, HeadTraining | None, int, int], tuple[list[int], str]]


def _random(x: np.ndarray, y: np.ndarray, labeled: np.ndarray, head: HeadTraining | None, count: int,
            seed: int) -> tuple[list[int], str]:
    return [s.index for s in select_random(len(x), labeled, count, seed)], "random"


def _typical(x: np.ndarray, y: np.ndarray, labeled: np.ndarray, head: HeadTraining | None, count: int,
             seed: int) -> tuple[list[int], str]:
    return [s.index for s in select_typical(x, labeled, count, seed)], "typical"


def _hybrid(x: np.ndarray, y: np.ndarray, labeled: np.ndarray, head: HeadTraining | None, count: int,
            seed: int) -> tuple[list[int], str]:
    if head is None:
        return _typical(x, y, labeled, head, count, seed)
    probs = head.head.predict_proba(x)
    counts = np.array([int(np.sum(y[labeled] == c)) for c in head.head.classes], dtype=np.int64)
    return [s.index for s in select_hybrid(x, probs, labeled, count, counts, seed)], "hybrid"


def _auto(x: np.ndarray, y: np.ndarray, labeled: np.ndarray, head: HeadTraining | None, count: int,
          seed: int) -> tuple[list[int], str]:
    labels = y[labeled]
    support = np.bincount(labels).tolist() if labels.size else []
    trust = judge(head.cv_accuracy, support, head.n_folds) if head is not None else None
    choice = choose_strategy(int(labeled.sum()), len(set(labels.tolist())), bool(trust and trust.trustworthy),
                             int(y.max()) + 1)
    picker = {"typical": _typical, "hybrid": _hybrid}.get(choice)
    if picker is None:
        raise SystemExit(f"the simulation does not know the strategy {choice!r}")
    picks, _ = picker(x, y, labeled, head, count, seed)
    return picks, choice


STRATEGIES: dict[str, Picker] = {"random": _random, "typical": _typical, "hybrid": _hybrid, "auto": _auto}


def run(x: np.ndarray, y: np.ndarray, test: np.ndarray, test_y: np.ndarray, picker: Picker, seed: int,
        budgets: list[int]) -> tuple[dict[int, float], list[str]]:
    labeled = np.zeros(len(x), bool)
    head: HeadTraining | None = None
    accuracy, used = {}, []
    for budget in budgets:
        count = budget - int(labeled.sum())
        picks, name = picker(x, y, labeled, head, count, (seed * 1_000_003 + int(labeled.sum())) % 2**31)
        labeled[np.asarray(picks, dtype=np.int64)] = True
        used.append(name)
        if len(np.unique(y[labeled])) < 2:
            head = None
            values, counts = np.unique(y[labeled], return_counts=True)
            accuracy[budget] = float(np.mean(test_y == values[np.argmax(counts)]))
            continue
        head = train_linear_head(x[labeled], y[labeled])
        predicted = head.head.classes[np.argmax(head.head.predict_proba(test), axis=1)]
        accuracy[budget] = float(np.mean(predicted == test_y))
    return accuracy, used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["cifar10_5k", "fashion_mnist_5k"])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--strategies", nargs="+", default=["random", "typical", "auto"], choices=list(STRATEGIES))
    parser.add_argument("--budgets", type=int, nargs="+", default=[10, 20, 50, 100, 200])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "labellight-picks")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    set_blas_threads(1)
    results: dict[str, dict[str, dict[int, list[float]]]] = {}
    for name in args.sets:
        data = np.load(args.cache / f"{name}.npz")
        x, y, test, test_y = data["train"], data["train_y"], data["test"], data["test_y"]
        results[name] = {}
        for strategy in args.strategies:
            scores: dict[int, list[float]] = {b: [] for b in args.budgets}
            for seed in range(args.seeds):
                accuracy, used = run(x, y, test, test_y, STRATEGIES[strategy], seed, args.budgets)
                for b, a in accuracy.items():
                    scores[b].append(a)
                print(f"{name} {strategy} seed {seed}: " + " ".join(f"{100 * a:.1f}" for a in accuracy.values())
                      + f"  {used}", flush=True)
            results[name][strategy] = scores
        print(f"\n{name}: mean ± std over {args.seeds} seeds")
        print("labels " + " ".join(f"{s:>14}" for s in args.strategies))
        for b in args.budgets:
            cells = [f"{100 * np.mean(results[name][s][b]):6.1f} ± {100 * np.std(results[name][s][b], ddof=1):4.1f}"
                     for s in args.strategies]
            print(f"{b:>6} " + " ".join(f"{c:>14}" for c in cells), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
