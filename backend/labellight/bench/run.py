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
    frozen_backbone,
    isolated_app,
    load_test_pixels,
    pretrain_and_embed,
    stored_vectors,
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
    default_targets,
    labels_to_reach,
    learning_curve_png,
    markdown_table,
    reach_as_json,
    reach_table,
    summarise,
    summary_as_json,
)
from labellight.bench.rounds import random_label_sets, run_selection
from labellight.db.models import Backbone
from labellight.services.suggestions import Strategy

LabelSets = dict[int, dict[int, list[int]]]
"""seed -> budget -> labeled image ids."""
BASELINES = ("frozen_pretrained", "raw_pixels", "random_init", "supervised_scratch")
"""The baselines a bench can score on the random runs' label sets (``--baselines``)."""


@dataclass(frozen=True)
class BenchSpec:
    budgets: list[int]
    strategies: list[Strategy]
    seeds: int
    pretrain_minutes: float
    weights: Path | None = None
    baselines: tuple[str, ...] = BASELINES
    targets: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.budgets or any(b < 1 for b in self.budgets) or sorted(set(self.budgets)) != self.budgets:
            raise BenchInputError(f"budgets must be increasing positive numbers, got {self.budgets}")
        if not self.strategies:
            raise BenchInputError("give at least one strategy")
        if self.seeds < 1 or not self.pretrain_minutes >= 0:
            raise BenchInputError("seeds must be >= 1 and the pretraining minutes >= 0 (0: the frozen pretrained "
                                  "start, no BYOL)")
        unknown = sorted(set(self.baselines) - set(BASELINES))
        if unknown:
            raise BenchInputError(f"unknown baselines {unknown}; choose from {', '.join(BASELINES)}")
        if any(not 0 < t < 1 for t in self.targets):
            raise BenchInputError(f"target accuracies must be between 0 and 100%, got {self.targets}")
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
        frozen = frozen_backbone(project)
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
        baselines, weights_report = _baseline_runs(project, _Features(backbone, frozen, test_vectors), label_sets,
                                                   test_pixels, spec)
        runs += [{"method": b.method, "seed": b.seed, "accuracy": b.accuracy} for b in baselines]
        lap("baselines")
        results = {
            "dataset": data.name, "classes": data.classes, "train_images": len(project.truth),
            "test_images": len(project.test_files),
            "settings": {"budgets": spec.budgets, "strategies": [s.value for s in spec.strategies],
                         "seeds": spec.seeds, "pretrain_minutes": spec.pretrain_minutes,
                         "weights": str(spec.weights) if spec.weights else None, "baselines": list(spec.baselines)},
            "pretrain": {"epochs": pretrain["epochs"] if pretrain else 0, "config": backbone.config,
                         "job_result": pretrain, "backbone": backbone.config.get("backbone"),
                         "start": backbone.config.get("start")},
            "weights_report": weights_report,
        }
    summary = summarise([MethodRun(r["method"], r["seed"], r["accuracy"]) for r in runs])
    targets = list(spec.targets) or default_targets(summary)
    reach = labels_to_reach(summary, targets)
    results.update(runs=[{**r, "accuracy": {str(b): a for b, a in r["accuracy"].items()}} for r in runs],
                   summary=summary_as_json(summary), labels_to_reach=reach_as_json(reach), timings_s=timings)
    _write(results, markdown_table(summary) + "\n" + reach_table(reach), summary, out_dir)
    return results


def _percentages(accuracy: dict[int, float]) -> str:
    return ", ".join(f"{b}: {100 * a:.1f}%" for b, a in accuracy.items())


@dataclass(frozen=True)
class _Features:
    """The project's current backbone, its frozen pretrained start (None: a scratch server) and the current
    backbone's test embeddings."""

    backbone: Backbone
    frozen: Backbone | None
    test_vectors: np.ndarray


def _baseline_runs(project: BenchProject, features_of: _Features, label_sets: LabelSets, test_pixels: np.ndarray,
                   spec: BenchSpec) -> tuple[list[MethodRun], str | None]:
    """The chosen baselines (frozen pretrained features, raw pixels, the untrained network, a from-scratch
    CNN, and a weights file when given) on the same labels."""
    pool_ids = project.train_ids
    pool_pixels = train_pixels(project, pool_ids)
    needed = np.array(sorted({i for sets in label_sets.values() for ids in sets.values() for i in ids}), dtype=np.int64)
    rows = np.searchsorted(pool_ids, needed)
    labeled_pixels = pool_pixels[rows]
    backbone = features_of.backbone
    name, small = str(backbone.config["backbone"]), bool(backbone.config.get("small_images", True))
    size = int(backbone.config["image_size"])
    stats = pixel_pool_stats(pool_pixels)
    features: dict[str, Callable[[int], tuple[np.ndarray, np.ndarray]]] = {}
    frozen = features_of.frozen
    if "frozen_pretrained" in spec.baselines and frozen is not None:
        if frozen.id == backbone.id:  # no BYOL shipped: the project's own embeddings are the frozen ones
            frozen_pair = (stored_vectors(frozen, needed), features_of.test_vectors)
        else:
            frozen_pair = (embed_test(frozen, labeled_pixels), embed_test(frozen, test_pixels))
        features["frozen_pretrained"] = lambda _seed: frozen_pair
    if "raw_pixels" in spec.baselines:
        features["raw_pixels"] = _cached(lambda _: (pixel_features(labeled_pixels, stats),
                                                    pixel_features(test_pixels, stats)))
    if "random_init" in spec.baselines:
        features["random_init"] = lambda seed: (random_init_features(name, small, size, seed, labeled_pixels),
                                                random_init_features(name, small, size, seed, test_pixels))
    weights_report = None
    if spec.weights is not None:
        pair = (weights_features(spec.weights, name, small, size, labeled_pixels)[0],
                weights_features(spec.weights, name, small, size, test_pixels))
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
    if "supervised_scratch" in spec.baselines:
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
              f"{len(results['classes'])} classes; {_features_line(results)}; {settings['seeds']} seed(s). "
              "Test accuracy in %, mean ± std over seeds.\n\n")
    (out_dir / "results.md").write_text(header + table)
    learning_curve_png(summary, out_dir / "learning_curve.png", f"{results['dataset']}: test accuracy vs labels")


def _features_line(results: dict[str, Any]) -> str:
    pretrain, minutes = results["pretrain"], results["settings"]["pretrain_minutes"]
    if not minutes:
        return f"features of the frozen pretrained start ({pretrain['backbone']}, no BYOL)"
    return f"BYOL {pretrain['epochs']} epoch(s) (~{minutes} min budget), shipped backbone's start: {pretrain['start']}"
