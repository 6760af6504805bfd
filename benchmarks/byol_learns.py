"""Does BYOL from scratch learn on a dataset? Features of the untrained encoder against the encoder after
a time-budgeted run of the pretraining job's preset, with raw pixels beside them.

    .venv/bin/python benchmarks/byol_learns.py [--data ARCHIVE ...] [--budget-s 840] [--device cpu|cuda]
        [--set backbone=resnet18_w32 --set lr=2e-3 ...] [--labels-per-class 50] [--seeds 3] [--json PATH]

For each archive (``<name>/{train,test}/<class>/<id>.png``; default cifar10_5k and fashion_mnist_5k in
../shared/datasets) the train split is decoded into the pixel cache format at its own side and
pretrained on as the pretrain job does (:func:`pretrain_with_report`, from a random start, the preset
for the device with ``--budget-s`` as its time budget; ``--set`` overrides config fields; the guard is
off so the trained encoder itself is scored). Scores on the test split:

- ``knn``: cosine k-NN (``--k``, similarity-weighted votes) with every training label;
- ``probe``: the app's linear head fitted on ``--labels-per-class`` random training images per class
  (the issue's protocol), mean over ``--seeds``;

for ``untrained`` (the same network at its random initialisation, eval mode), ``byol`` and
``pixels`` (16 x 16 downscaled, standardised). Figures are printed and written to ``--json``; never
asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import bench_images
from labellight.bench.baselines import pixel_features, pixel_pool_stats
from labellight.common.vectors import unit_rows
from labellight.ml.device import pick_device
from labellight.ml.embed import embed
from labellight.ml.pretrain import PretrainConfig, PretrainProgress, PretrainRun, preset, pretrain_with_report
from pretrained_probe import load_split, probe, summary

SHARED = bench_images.REPO.parent / "shared" / "datasets"
DEFAULT_DATA = (SHARED / "cifar10_5k.tar.gz", SHARED / "fashion_mnist_5k.tar.gz")


def knn_accuracy(train: np.ndarray, y_train: np.ndarray, test: np.ndarray, y_test: np.ndarray, k: int) -> float:
    """Accuracy of a cosine k-NN vote weighted by similarity (rows are unit-norm)."""
    similarity = torch.from_numpy(test) @ torch.from_numpy(train).T
    top, index = similarity.topk(k, dim=1)
    votes = torch.zeros(len(test), int(y_train.max()) + 1)
    votes.scatter_add_(1, torch.from_numpy(y_train)[index], top.exp())
    return float((votes.argmax(1).numpy() == y_test).mean())


def overridden(config: PretrainConfig, pairs: list[str]) -> PretrainConfig:
    """``config`` with ``name=value`` pairs applied (values parsed as the field's current type)."""
    fields = {field.name for field in dataclasses.fields(config)}
    changes: dict[str, Any] = {}
    for pair in pairs:
        name, _, text = pair.partition("=")
        if name not in fields:
            raise SystemExit(f"--set {pair}: no config field {name!r}; fields: {', '.join(sorted(fields))}")
        current = getattr(config, name)
        if text.lower() == "none":
            changes[name] = None
        elif isinstance(current, bool) or current is None:
            changes[name] = {"true": True, "false": False}.get(text.lower(), text)
        else:
            changes[name] = type(current)(text)
    return dataclasses.replace(config, **changes)


def scores(features: np.ndarray, y_train: np.ndarray, y_test: np.ndarray, args: argparse.Namespace) -> dict[str, Any]:
    n = len(y_train)
    train, test = unit_rows(features[:n]), unit_rows(features[n:])
    return {
        "knn": knn_accuracy(train, y_train, test, y_test, args.k),
        "probe": probe(train, y_train, test, y_test, args.labels_per_class, args.seeds),
    }


def line(dataset: str, name: str, result: dict[str, Any]) -> str:
    return f"{dataset} {name:9s} knn {100 * result['knn']:.1f}%  probe {summary(result['probe'])}"


def pretrain_and_score(train: np.ndarray, both: np.ndarray, y: tuple[np.ndarray, np.ndarray], config: PretrainConfig,
                       device: torch.device, args: argparse.Namespace, name: str) -> dict[str, Any]:
    def on_progress(progress: PretrainProgress) -> None:
        print(f"  epoch {progress.epoch}/{progress.epochs} step {progress.step}/{progress.total_steps} "
              f"loss {progress.loss:.4f} {progress.images_per_s:.0f} images/s std {progress.collapse_std:.3f} "
              f"eta {progress.eta_s:.0f} s", flush=True)

    started = time.monotonic()
    report = pretrain_with_report(train, config, device=device, guard=False, on_progress=on_progress,
                                  progress_interval_s=args.progress_s)
    result = scores(embed(report.backbone, both, config.image_size, device=device), *y, args)
    result.update(pretrain_s=round(time.monotonic() - started, 1), epochs=report.epochs, steps=report.total_steps)
    print(line(name, "byol", result), f"({report.epochs} epochs, {report.total_steps} steps, "
          f"{result['pretrain_s']:.0f} s)", flush=True)
    return result


def run_dataset(archive: Path, args: argparse.Namespace, device: torch.device, workdir: Path) -> dict[str, Any]:
    root = bench_images._unpack(archive, workdir).parent
    side = bench_images.image_side(sorted((root / "train").rglob("*.png"))[:1])
    train, y_train = load_split(root, "train", side)
    test, y_test = load_split(root, "test", side)
    both, y = np.concatenate([train, test]), (y_train, y_test)
    preset_device = torch.device(args.preset) if args.preset else device
    base = dataclasses.replace(preset(preset_device, len(train), source_size=side), time_budget_s=args.budget_s)
    base = overridden(base, args.set)
    name = archive.name.removesuffix(".tar.gz")
    result: dict[str, Any] = {"dataset": name, "train": len(train), "test": len(test), "device": device.type,
                              "budget_s": args.budget_s, "variants": []}
    print(f"{name}: {len(train)} train / {len(test)} test images at {side} px", flush=True)

    stats = pixel_pool_stats(train)
    result["pixels"] = scores(np.concatenate([pixel_features(train, stats), pixel_features(test, stats)]), *y, args)
    print(line(name, "pixels", result["pixels"]), flush=True)
    untrained: dict[tuple[str, int, bool, int], dict[str, Any]] = {}
    for variant in args.variant or [""]:
        config = overridden(base, [pair for pair in variant.split(",") if pair])
        print(f"{name} [{variant or 'preset'}]: {config}", flush=True)
        network = (config.backbone, config.image_size, config.small_images, config.seed)  # the same start
        if network not in untrained:
            encoder = PretrainRun(config, 1, device).encoder()
            untrained[network] = scores(embed(encoder, both, config.image_size, device=device), *y, args)
            print(line(name, "untrained", untrained[network]), flush=True)
        trained = pretrain_and_score(train, both, y, config, device, args, name)
        fields = {k: str(v) for k, v in vars(config).items()}
        result["variants"].append({"variant": variant or "preset", "config": fields,
                                   "untrained": untrained[network], "byol": trained})
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, nargs="+", default=list(DEFAULT_DATA))
    parser.add_argument("--budget-s", type=float, default=840.0, help="pretraining time budget per dataset")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: the job's choice)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override a field of the preset's PretrainConfig")
    parser.add_argument("--preset", choices=("cpu", "cuda"), default=None,
                        help="take the preset of this device (default: the one the run is on)")
    parser.add_argument("--variant", action="append", default=[], metavar="FIELD=VALUE[,FIELD=VALUE...]",
                        help="a run with these fields changed on top of --set; repeat to compare settings on the "
                             "same data (default: one run of the preset)")
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--labels-per-class", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--progress-s", type=float, default=30.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    device = torch.device(args.device) if args.device else pick_device()
    print(f"load average {os.getloadavg()}, torch threads {torch.get_num_threads()}, device {device}", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for archive in args.data:
            results.append(run_dataset(archive, args, device, Path(tmp)))
            if args.json:
                args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
