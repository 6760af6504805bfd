"""`labellight bench`: label efficiency of the real pipeline against baselines on the same labels.

Ingest the train images into a throw-away app, pretrain BYOL for a time budget, embed, then for every
strategy and seed label up to each budget in rounds (suggest, annotate, retrain) and score the classifier
on the test images. Baselines get the label sets of the random-selection runs.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from labellight.bench.app import (
    BenchProject,
    create_bench_project,
    current_backbone,
    embed_test,
    isolated_app,
    load_test_pixels,
    pretrain_and_embed,
    train_pixels,
)
from labellight.bench.baselines import (
    linear_probe_accuracy,
    pixel_features,
    pixel_pool_stats,
    random_init_features,
    scratch_accuracy,
    weights_features,
)
from labellight.bench.data import Annotator, BenchInputError, open_bench_input
from labellight.bench.report import (
    MethodRun,
    learning_curve_png,
    markdown_table,
    summarise,
    summary_as_json,
)
from labellight.bench.rounds import random_label_sets, run_selection
from labellight.db.models import Backbone
from labellight.services.suggestions import Strategy

LabelSets = dict[int, dict[int, list[int]]]
"""seed -> budget -> labeled image ids."""


@dataclass(frozen=True)
class BenchSpec:
    budgets: list[int]
    strategies: list[Strategy]
    seeds: int
    pretrain_minutes: float
    weights: Path | None = None

    def __post_init__(self) -> None:
        if not self.budgets or any(b < 1 for b in self.budgets) or sorted(set(self.budgets)) != self.budgets:
            raise BenchInputError(f"budgets must be increasing positive numbers, got {self.budgets}")
        if not self.strategies:
            raise BenchInputError("give at least one strategy")
        if self.seeds < 1 or not self.pretrain_minutes > 0:
            raise BenchInputError("seeds must be >= 1 and the pretraining minutes > 0")
        if self.weights is not None and not self.weights.is_file():
            raise BenchInputError(f"the weights file {self.weights} does not exist")


def run_benchmark(source: Path, spec: BenchSpec, out_dir: Path, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run everything, write ``results.json``, ``results.md`` and ``learning_curve.png`` to ``out_dir``."""
    timings: dict[str, float] = {}
    clock = time.monotonic()

    def lap(name: str) -> None:
        nonlocal clock
        timings[name] = round(time.monotonic() - clock, 1)
        clock = time.monotonic()
        log(f"bench: {name} done in {timings[name]} s")

    with open_bench_input(source) as data, tempfile.TemporaryDirectory(prefix="labellight-bench-") as tmp, \
            isolated_app(Path(tmp) / "data"):
        project = create_bench_project(data, Path(tmp))
        lap("ingest")
        pretrain = pretrain_and_embed(project, spec.pretrain_minutes * 60)
        backbone = current_backbone(project)
        lap("pretrain and embed")
        test_pixels = load_test_pixels(project)
        test_vectors = embed_test(backbone, test_pixels)
        annotator = Annotator(project.truth)
        runs: list[dict[str, Any]] = []
        for strategy in spec.strategies:
            for seed in range(spec.seeds):
                run = run_selection(project, annotator, strategy, seed, spec.budgets, test_vectors)
                runs.append({"method": run.strategy, "seed": seed, "accuracy": run.accuracy,
                             "picked_by": run.picked_by})
                log(f"bench: {run.strategy} seed {seed}: {_percentages(run.accuracy)}")
        lap("selection rounds")
        label_sets = random_label_sets(project.train_ids, spec.budgets, spec.seeds)
        baselines, weights_report = _baseline_runs(project, backbone, label_sets, test_pixels, spec.weights)
        runs += [{"method": b.method, "seed": b.seed, "accuracy": b.accuracy} for b in baselines]
        lap("baselines")
        results = {
            "dataset": data.name, "classes": data.classes, "train_images": len(project.truth),
            "test_images": len(project.test_files),
            "settings": {"budgets": spec.budgets, "strategies": [s.value for s in spec.strategies],
                         "seeds": spec.seeds, "pretrain_minutes": spec.pretrain_minutes,
                         "weights": str(spec.weights) if spec.weights else None},
            "pretrain": {"epochs": pretrain["epochs"], "config": backbone.config, "job_result": pretrain,
                         "backbone": backbone.config.get("backbone")},
            "weights_report": weights_report,
        }
    summary = summarise([MethodRun(r["method"], r["seed"], r["accuracy"]) for r in runs])
    results.update(runs=[{**r, "accuracy": {str(b): a for b, a in r["accuracy"].items()}} for r in runs],
                   summary=summary_as_json(summary), timings_s=timings)
    _write(results, markdown_table(summary), summary, out_dir)
    return results


def _percentages(accuracy: dict[int, float]) -> str:
    return ", ".join(f"{b}: {100 * a:.1f}%" for b, a in accuracy.items())


def _baseline_runs(project: BenchProject, backbone: Backbone, label_sets: LabelSets, test_pixels: np.ndarray,
                   weights: Path | None) -> tuple[list[MethodRun], str | None]:
    """Raw pixels, the untrained network, from-scratch CNN, and (optional) a weights file, on the same labels."""
    pool_ids = project.train_ids
    pool_pixels = train_pixels(project, pool_ids)
    needed = np.array(sorted({i for sets in label_sets.values() for ids in sets.values() for i in ids}), dtype=np.int64)
    rows = np.searchsorted(pool_ids, needed)
    labeled_pixels = pool_pixels[rows]
    name, small = str(backbone.config["backbone"]), bool(backbone.config.get("small_images", True))
    size = int(backbone.config["image_size"])
    stats = pixel_pool_stats(pool_pixels)
    features: dict[str, Callable[[int], tuple[np.ndarray, np.ndarray]]] = {
        "raw_pixels": _cached(lambda _: (pixel_features(labeled_pixels, stats), pixel_features(test_pixels, stats))),
        "random_init": lambda seed: (random_init_features(name, small, size, seed, labeled_pixels),
                                     random_init_features(name, small, size, seed, test_pixels)),
    }
    weights_report = None
    if weights is not None:
        pair = (weights_features(weights, name, small, size, labeled_pixels)[0],
                weights_features(weights, name, small, size, test_pixels))
        weights_report = pair[1][1]
        features["pretrained_weights"] = lambda _seed: (pair[0], pair[1][0])
    test_y = project.test_y
    runs = []
    for method, make in features.items():
        for seed, sets in label_sets.items():
            x_labeled, x_test = make(seed)
            runs.append(MethodRun(method, seed, {
                b: linear_probe_accuracy(x_labeled[np.searchsorted(needed, ids)], _truth(project, ids), x_test, test_y)
                for b, ids in sets.items()}))
    for seed, sets in label_sets.items():
        runs.append(MethodRun("supervised_scratch", seed, {
            b: scratch_accuracy(labeled_pixels[np.searchsorted(needed, ids)], _truth(project, ids), test_pixels,
                                test_y, seed) for b, ids in sets.items()}))
    return runs, weights_report


def _cached(make: Callable[[int], tuple[np.ndarray, np.ndarray]]) -> Callable[[int], tuple[np.ndarray, np.ndarray]]:
    """Seed-independent features, computed once."""
    made: list[tuple[np.ndarray, np.ndarray]] = []

    def once(seed: int) -> tuple[np.ndarray, np.ndarray]:
        if not made:
            made.append(make(seed))
        return made[0]

    return once


def _truth(project: BenchProject, ids: list[int]) -> np.ndarray:
    return np.array([project.truth[i] for i in ids], dtype=np.int64)


def _write(results: dict[str, Any], table: str, summary: Any, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    settings = results["settings"]
    header = (f"# Label efficiency: {results['dataset']}\n\n"
              f"{results['train_images']} train / {results['test_images']} test images, "
              f"{len(results['classes'])} classes; BYOL {results['pretrain']['epochs']} epoch(s) "
              f"(~{settings['pretrain_minutes']} min budget); {settings['seeds']} seed(s). "
              "Test accuracy in %, mean ± std over seeds.\n\n")
    (out_dir / "results.md").write_text(header + table)
    learning_curve_png(summary, out_dir / "learning_curve.png", f"{results['dataset']}: test accuracy vs labels")
