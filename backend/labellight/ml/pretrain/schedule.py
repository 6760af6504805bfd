"""How a pretraining run walks through the pixel cache: batches, epochs, and epochs planned from a time budget."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from labellight.ml.pretrain.config import PretrainConfig

# Planning a time budget times rounds of 3 steps after two untimed steps (first-call allocations,
# autotuning): more rounds until 2 s have passed (at most 16), since a GPU's first steps are slower
# than its later ones (an H200 probed with 3 steps planned 223 epochs for a 200 s budget and ran them
# in 132 s).
_PROBE_WARMUP_STEPS = 2
_PROBE_ROUND_STEPS = 3
_PROBE_MAX_ROUNDS = 16
_PROBE_SECONDS = 2.0


@dataclass(frozen=True)
class Schedule:
    """``epochs`` passes of ``steps_per_epoch`` full batches of ``batch_size`` images (``steps``: a
    number of steps that ends within the last epoch, as a time budget plans it)."""

    batch_size: int
    steps_per_epoch: int
    epochs: int
    steps: int | None = None

    @property
    def total_steps(self) -> int:
        return self.steps if self.steps is not None else self.steps_per_epoch * self.epochs


def schedule_for(n_images: int, config: PretrainConfig, epochs: int | None = None) -> Schedule:
    """The schedule of ``config`` on ``n_images`` images (``epochs`` overrides ``config.epochs``)."""
    # Full batches only: BatchNorm needs >= 2 samples, and equal batch sizes keep steps comparable.
    batch_size = min(config.batch_size, n_images)
    return Schedule(batch_size, n_images // batch_size, epochs if epochs is not None else config.epochs)


def epoch_batches(n_images: int, schedule: Schedule, seed: int, epoch: int) -> Iterator[np.ndarray]:
    """Row indices of each batch of ``epoch``; the order depends only on (seed, epoch), so a
    resumed run sees the same batches."""
    order = np.random.default_rng([seed, epoch]).permutation(n_images)
    for start in range(0, schedule.steps_per_epoch * schedule.batch_size, schedule.batch_size):
        # Sorted rows read a memory-mapped cache front to back.
        yield np.sort(order[start : start + schedule.batch_size])


def load_batch(pixels: np.ndarray, rows: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 images (B, H, W, 3) of ``rows`` on ``device`` (pinned, asynchronous copy on CUDA)."""
    batch = torch.from_numpy(np.ascontiguousarray(pixels[rows]))
    if device.type == "cuda":
        return batch.pin_memory().to(device, non_blocking=True)
    return batch


def plan_epochs(
    budget_s: float,
    n_images: int,
    config: PretrainConfig,
    step: Callable[[], torch.Tensor],
    clock: Callable[[], float] = time.monotonic,
) -> tuple[int, float]:
    """Epochs that fit ``budget_s`` seconds, and the measured seconds per step.

    ``step`` runs one training step of a throw-away run and returns its loss; the time of the
    probe itself is taken from the budget. At least one epoch is planned.
    """
    started = clock()
    for _ in range(_PROBE_WARMUP_STEPS):
        step().item()
    timed, steps = clock(), 0
    while steps == 0 or (steps < _PROBE_ROUND_STEPS * _PROBE_MAX_ROUNDS and clock() - timed < _PROBE_SECONDS):
        for _ in range(_PROBE_ROUND_STEPS):
            loss = step()
        loss.item()  # waits for the device, so the timing covers the work and not just its launch
        steps += _PROBE_ROUND_STEPS
    seconds_per_step = (clock() - timed) / steps
    remaining = budget_s - (clock() - started)
    steps_per_epoch = schedule_for(n_images, config).steps_per_epoch
    return max(1, math.floor(remaining / (seconds_per_step * steps_per_epoch))), seconds_per_step

