"""P2: embedding extraction images/s of the app's path against a plain ImageFolder + DataLoader eval loop.

    .venv/bin/python benchmarks/embed_throughput.py [--data ARCHIVE_OR_FOLDER] [--images 2560]
        [--rounds 5] [--workers N] [--device cpu|cuda] [--json PATH]

Ours: the app's embed job. The images are decoded once into the pixel cache (as at upload); rows
are read from it in chunks of 1,024 and embedded by ``labellight.ml.embed.embed`` (batches of 256,
``to_model_input`` on the device, unit-norm rows). Reference: what a torchvision user writes:
ImageFolder with ToTensor + Normalize (+ Resize when the images are not at the model's size), a
DataLoader with ``--workers`` processes (default: the core count, at most 8) and batches of 256, the
model in eval mode under ``inference_mode``, features L2-normalised and collected on the host.

Both sides use the same network (the device preset's backbone, random weights: speed does not depend
on them), the same precision (CPU fp32, CUDA bf16) and the same images; the rows they produce are
compared, so the two sides are seen to compute the same embedding. Each round embeds the
``--images`` subset once per side, in alternating order, after one untimed pass per side.
Figures are printed (and written to ``--json``), never asserted.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional
from torch.utils.data import DataLoader, Subset
from torchvision import transforms
from torchvision.datasets import ImageFolder

import bench_images
from bench_images import BenchImages
from bench_timing import as_json, load_average, measure, print_summary, run_rounds, summarize, write_json
from labellight.ml.backbones import build_backbone
from labellight.ml.device import autocast, pick_device
from labellight.ml.embed import embed
from labellight.ml.pretrain.config import preset

OURS = "labellight"
TARGET = 1.5
BATCH_SIZE = 256
# The ImageNet channel statistics every torchvision example normalises with (the app's too).
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
# Rows the embed job reads from the pixel cache per call of ``embed`` (services/embedding.py).
JOB_CHUNK = 1024


class OurEmbedding:
    """The embed job's loop over a memory-mapped pixel cache."""

    def __init__(self, backbone: nn.Module, pixels: np.ndarray, image_size: int, device: torch.device) -> None:
        self.backbone, self.pixels, self.image_size, self.device = backbone, pixels, image_size, device
        self.rows: np.ndarray = np.zeros((0, 1), dtype=np.float32)

    def run(self) -> int:
        rows = np.arange(self.pixels.shape[0])
        parts = [
            embed(self.backbone, np.asarray(self.pixels[rows[start : start + JOB_CHUNK]]), self.image_size,
                  batch_size=BATCH_SIZE, device=self.device)
            for start in range(0, len(rows), JOB_CHUNK)
        ]  # fmt: skip
        self.rows = np.concatenate(parts)
        return len(rows)


class FolderEmbedding:
    """A plain torchvision eval loop over the same files."""

    def __init__(
        self, backbone: nn.Module, images: BenchImages, image_size: int, side: int, device: torch.device, workers: int
    ) -> None:
        self.backbone, self.device = backbone, device
        steps: list[nn.Module] = [] if side == image_size else [transforms.Resize((image_size, image_size))]
        transform = transforms.Compose(
            [*steps, transforms.ToTensor(), transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
        )
        dataset = Subset(ImageFolder(images.root, transform=transform), images.indices)
        self.loader = DataLoader(
            dataset, batch_size=BATCH_SIZE, shuffle=False, num_workers=workers, pin_memory=device.type == "cuda"
        )
        self.rows: np.ndarray = np.zeros((0, 1), dtype=np.float32)

    def run(self) -> int:
        self.backbone.to(self.device).eval()
        parts = []
        with torch.inference_mode():
            for x, _ in self.loader:
                with autocast(self.device):
                    features = self.backbone(x.to(self.device, non_blocking=True))
                parts.append(functional.normalize(features.float(), dim=1).cpu().numpy())
        self.rows = np.concatenate(parts)
        return len(self.rows)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="ImageFolder tree or .tar.gz (default: cifar10_5k, else synthetic)")
    parser.add_argument("--images", type=int, default=2560, help="images embedded per side and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1), help="reference DataLoader workers")
    parser.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda when available")
    parser.add_argument("--threads", type=int, help="torch threads of this process, both sides (default: torch's)")
    parser.add_argument("--backbone", help="default: the device preset's")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "labellight-bench")
    parser.add_argument("--json", type=Path, help="write settings and figures here")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    if args.workers < 0:
        parser.error(f"--workers must be >= 0, got {args.workers}")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    return args


def main(argv: list[str] | None = None) -> dict[str, object]:
    args = _parse(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device) if args.device else pick_device()
    root, source = bench_images.locate(args.data, args.workdir, synthetic_count=max(args.images, 1280))
    images = bench_images.subset(root, args.images, source)
    side = bench_images.image_side(images.paths)
    pixels, fill_s = bench_images.fill_pixel_cache(images.paths, args.workdir / "embed_pixels.u8", side)
    config = preset(device, len(images.paths), source_size=side)
    backbone_name = args.backbone or config.backbone
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        backbone, _ = build_backbone(backbone_name, config.small_images)
    print(f"P2 embedding throughput on {device} ({torch.__version__}); load {load_average()}")
    print(f"images: {len(images.paths)} from {source}; pixel cache filled in {fill_s:.1f} s (once, at upload)")
    print(
        f"network: {backbone_name}, {config.image_size} px, batch {BATCH_SIZE}; "
        f"reference DataLoader workers: {args.workers}; "
        f"torch threads: {torch.get_num_threads()}; {args.rounds} rounds, one untimed pass per side first"
    )
    ours = OurEmbedding(backbone, pixels, config.image_size, device)
    reference = FolderEmbedding(backbone, images, config.image_size, side, device, args.workers)
    ours.run()
    reference.run()
    agreement = float(np.min(np.sum(ours.rows * reference.rows, axis=1)))
    print(f"same embedding: lowest cosine between the two sides' rows {agreement:.6f}")
    sides = {OURS: partial(measure, device, ours.run), "imagefolder": partial(measure, device, reference.run)}
    results = run_rounds(sides, args.rounds)
    summary = summarize(results, OURS)
    print_summary(summary, OURS, TARGET)
    print(f"load after: {load_average()}")
    payload: dict[str, object] = {
        "benchmark": "P2 embedding throughput",
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "images": len(images.paths),
        "source": source,
        "backbone": backbone_name,
        "image_size": config.image_size,
        "batch_size": BATCH_SIZE,
        "reference_workers": args.workers,
        "torch_threads": torch.get_num_threads(),
        "rounds": args.rounds,
        "pixel_cache_fill_s": fill_s,
        "lowest_cosine_between_sides": agreement,
        "rounds_measured": as_json(results),
        "summary": summary,
        "load_average_after": load_average(),
    }
    write_json(args.json, payload)
    return payload


if __name__ == "__main__":
    main()
