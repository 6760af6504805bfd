"""P1: BYOL training images/s of the app's step against a `lightly` reference, side by side in one run.

    .venv/bin/python benchmarks/byol_throughput.py [--data ARCHIVE_OR_FOLDER] [--images 1280]
        [--rounds 5] [--warmup 3] [--workers N] [--device cpu|cuda] [--reference-fp32] [--json PATH]

Ours: the app's path. The images are decoded once into the pixel cache (as at upload), batches
are sampled from it, augmented on the training device (``ByolAugment``) and trained by
``PretrainRun.train_step`` with the device's preset (CPU: ResNet-18 at width 32, batch 64, AdamW,
bf16 autocast where the CPU has native bf16; GPU: ResNet-18, batch 256, LARS, bf16, channels_last).

Reference: lightly's BYOL blocks and ``BYOLTransform`` over a torchvision ImageFolder and a DataLoader
with ``--workers`` processes (default: the core count, at most 8), with the same backbone, heads,
batch size, image size, crop scale, optimiser and images; forward passes under the same autocast
(``--reference-fp32`` adds lightly's example as written, in fp32, as a third side).

Each round is one epoch over the ``--images`` subset per side (the reference starts its workers
each epoch, as a training loop does), in alternating order; ``--warmup`` steps per side run first,
untimed. Figures are printed (and written to ``--json``), never asserted.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path

import numpy as np
import torch

import bench_images
from bench_images import BenchImages
from bench_timing import as_json, load_average, measure, print_summary, run_rounds, summarize, write_json
from labellight.ml.augment import ByolAugment
from labellight.ml.device import pick_device
from labellight.ml.pretrain.config import PretrainConfig, preset
from labellight.ml.pretrain.run import PretrainRun
from labellight.ml.pretrain.schedule import epoch_batches, load_batch, schedule_for

OURS = "labellight"
TARGET = 2.0


class OurByol:
    """The app's BYOL steps over a pixel cache, one epoch after another."""

    def __init__(self, pixels: np.ndarray, config: PretrainConfig, device: torch.device, total_steps: int) -> None:
        self.pixels, self.device = pixels, device
        self.schedule = schedule_for(pixels.shape[0], config)
        self.run = PretrainRun(config, total_steps, device)
        self._rows = self._all_batches(config.seed)

    def _all_batches(self, seed: int) -> Iterator[np.ndarray]:
        epoch = 0
        while True:
            yield from epoch_batches(self.pixels.shape[0], self.schedule, seed, epoch)
            epoch += 1

    def train(self, steps: int) -> int:
        """Train ``steps`` steps; the number of images trained on."""
        loss = torch.zeros(())
        for _ in range(steps):
            loss = self.run.train_step(load_batch(self.pixels, next(self._rows), self.device))
        loss.item()
        return steps * self.schedule.batch_size


def _config(device: torch.device, n_images: int, side: int, args: argparse.Namespace) -> PretrainConfig:
    config = preset(device, n_images, source_size=side)
    chosen = {"batch_size": args.batch_size, "backbone": args.backbone, "image_size": args.image_size}
    overrides = {name: value for name, value in chosen.items() if value is not None}
    return replace(config, **overrides)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="ImageFolder tree or .tar.gz (default: cifar10_5k, else synthetic)")
    parser.add_argument("--images", type=int, default=1280, help="images in the subset: one round is one epoch")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per side before the rounds")
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1), help="reference DataLoader workers")
    parser.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda when available")
    parser.add_argument("--batch-size", type=int, help="default: the preset's")
    parser.add_argument("--backbone", help="default: the preset's")
    parser.add_argument("--image-size", type=int, help="default: the preset's (capped by the images' side)")
    parser.add_argument("--threads", type=int, help="torch threads of this process, both sides (default: torch's)")
    parser.add_argument("--reference-fp32", action="store_true", help="also time the reference without autocast")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "labellight-bench")
    parser.add_argument("--json", type=Path, help="write settings and figures here")
    args = parser.parse_args(argv)
    for name in ("rounds", "warmup"):
        if getattr(args, name) < (1 if name == "rounds" else 0):
            parser.error(f"--{name} is too small: {getattr(args, name)}")
    if args.workers < 0:
        parser.error(f"--workers must be >= 0, got {args.workers}")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    return args


def main(argv: list[str] | None = None) -> dict[str, object]:
    args = _parse(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    # Imported here so that --help works without the optional `bench` extra.
    from lightly_reference import LightlyReference

    device = torch.device(args.device) if args.device else pick_device()
    root, source = bench_images.locate(args.data, args.workdir, synthetic_count=max(args.images, 1280))
    images: BenchImages = bench_images.subset(root, args.images, source)
    side = bench_images.image_side(images.paths)
    pixels, fill_s = bench_images.fill_pixel_cache(images.paths, args.workdir / "byol_pixels.u8", side)
    config = _config(device, len(images.paths), side, args)
    steps = schedule_for(len(images.paths), config).steps_per_epoch
    total_steps = args.warmup + args.rounds * steps
    min_scale = ByolAugment(config.image_size).crop_scale[0]
    print(f"P1 BYOL throughput on {device} ({torch.__version__}); load {load_average()}")
    print(f"images: {len(images.paths)} from {source}; pixel cache filled in {fill_s:.1f} s (once, at upload)")
    print(
        f"config: {config.backbone}, {config.image_size} px, batch {config.batch_size}, {config.optimizer}, "
        f"heads {config.proj_hidden}/{config.proj_dim}/{config.pred_hidden}, "
        f"cpu_bf16={config.cpu_bf16}; reference DataLoader workers: {args.workers}; "
        f"torch threads: {torch.get_num_threads()}"
    )
    print(f"{args.rounds} rounds of {steps} steps per side (one epoch each), {args.warmup} warm-up steps untimed")

    ours = OurByol(pixels, config, device, total_steps)
    common = {"workers": args.workers, "total_steps": total_steps, "min_scale": min_scale}
    trainers = {OURS: ours.train}
    trainers["lightly"] = LightlyReference(images, config, device, mixed_precision=True, **common).train  # type: ignore[arg-type]
    if args.reference_fp32:
        plain = LightlyReference(images, config, device, mixed_precision=False, **common)  # type: ignore[arg-type]
        trainers["lightly fp32"] = plain.train
    for train in trainers.values():
        if args.warmup:
            train(args.warmup)
    sides = {name: partial(measure, device, partial(train, steps)) for name, train in trainers.items()}
    results = run_rounds(sides, args.rounds)
    summary = summarize(results, OURS)
    print_summary(summary, OURS, TARGET)
    print(f"load after: {load_average()}")
    payload: dict[str, object] = {
        "benchmark": "P1 BYOL training throughput",
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "images": len(images.paths),
        "source": source,
        "steps_per_round": steps,
        "rounds": args.rounds,
        "warmup_steps": args.warmup,
        "reference_workers": args.workers,
        "torch_threads": torch.get_num_threads(),
        "config": asdict(config),
        "pixel_cache_fill_s": fill_s,
        "rounds_measured": as_json(results),
        "summary": summary,
        "load_average_after": load_average(),
    }
    write_json(args.json, payload)
    return payload


if __name__ == "__main__":
    main()
