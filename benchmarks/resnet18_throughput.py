"""CIFAR-size ResNet-18 images/s on one device: the ceiling a BYOL step is read against.

    .venv/bin/python benchmarks/resnet18_throughput.py [--device cpu|cuda] [--batch-size 512]
        [--steps 50] [--rounds 3] [--warmup 5] [--json PATH]

The network is the app's ResNet-18 with the small-image stem (3x3 stride-1 first convolution, no
max-pool) and a 10-way linear head, on random 32 px inputs already on the device: no data loading,
no augmentation. Training is a supervised step (cross-entropy, SGD with momentum); inference is a
forward pass under ``inference_mode``. Both under bf16 autocast where the device computes bf16
natively, in channels_last. Images/s are the median over rounds of ``--steps`` steps, after
``--warmup`` untimed steps. A BYOL step costs about two of these training steps per image (online
forward and backward plus target forward, on two views).
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional

from bench_timing import Measurement, load_average, measure, write_json
from labellight.ml.backbones import build_backbone
from labellight.ml.device import autocast, cpu_has_native_bf16, pick_device

IMAGE_SIZE = 32
CLASSES = 10


def _model(device: torch.device) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        backbone, dim = build_backbone("resnet18", small_images=True)
        model = nn.Sequential(backbone, nn.Linear(dim, CLASSES))
    return model.to(device).to(memory_format=torch.channels_last)  # type: ignore[call-overload,no-any-return]


def _trainer(model: nn.Module, x: torch.Tensor, y: torch.Tensor, bf16: bool) -> Callable[[int], int]:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def train(steps: int) -> int:
        model.train()
        for _ in range(steps):
            with autocast(x.device, cpu_bf16=bf16):
                loss = functional.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return steps * x.shape[0]

    return train


def _inferrer(model: nn.Module, x: torch.Tensor, bf16: bool) -> Callable[[int], int]:
    def infer(steps: int) -> int:
        model.eval()
        with torch.inference_mode():
            for _ in range(steps):
                with autocast(x.device, cpu_bf16=bf16):
                    model(x)
        return steps * x.shape[0]

    return infer


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda when available")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=50, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    for name in ("batch_size", "steps", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    device = torch.device(args.device) if args.device else pick_device()
    bf16 = device.type == "cuda" or cpu_has_native_bf16()
    model = _model(device)
    x = torch.randn(args.batch_size, 3, IMAGE_SIZE, IMAGE_SIZE, device=device)
    x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, CLASSES, (args.batch_size,), device=device)
    print(f"ResNet-18 (small-image stem), {IMAGE_SIZE} px, batch {args.batch_size}, bf16={bf16}, on {device}")
    figures: dict[str, float] = {}
    for name, work in (("train", _trainer(model, x, y, bf16)), ("inference", _inferrer(model, x, bf16))):
        work(args.warmup)
        rounds: list[Measurement] = [measure(device, partial(work, args.steps)) for _ in range(args.rounds)]
        figures[f"{name}_images_per_s"] = statistics.median(m.images_per_s for m in rounds)
        spread = ", ".join(f"{m.images_per_s:.0f}" for m in rounds)
        print(f"{name}: {figures[f'{name}_images_per_s']:.0f} images/s (rounds: {spread}); load {load_average()}")
    payload: dict[str, object] = {
        "benchmark": "CIFAR-size ResNet-18 throughput",
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "batch_size": args.batch_size,
        "bf16": bf16,
        **figures,
    }
    write_json(args.json, payload)
    return payload


if __name__ == "__main__":
    main()
