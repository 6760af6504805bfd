"""The BYOL pretraining loop over a uint8 pixel cache, with progress, cancellation and resume."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from labellight.ml.device import pick_device
from labellight.ml.pretrain_config import PretrainConfig, preset
from labellight.ml.pretrain_run import PretrainRun

__all__ = ["PretrainCancelled", "PretrainConfig", "PretrainProgress", "PretrainRun", "preset", "pretrain"]


@dataclass
class PretrainProgress:
    """A progress report. ``epoch`` counts from 1; ``loss`` is the mean BYOL loss over the steps
    since the previous report; ``eta_s`` extrapolates this call's mean step time."""

    epoch: int
    epochs: int
    step: int
    total_steps: int
    loss: float
    images_per_s: float
    eta_s: float


class PretrainCancelled(Exception):
    """Raised when ``should_stop`` returns True; the run stops before its next step."""


@dataclass(frozen=True)
class _Schedule:
    batch_size: int
    steps_per_epoch: int
    epochs: int

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.epochs


def _schedule(n_images: int, config: PretrainConfig) -> _Schedule:
    # Full batches only: BatchNorm needs >= 2 samples, and equal batch sizes keep steps comparable.
    batch_size = min(config.batch_size, n_images)
    return _Schedule(batch_size, n_images // batch_size, config.epochs)


def _epoch_batches(n_images: int, schedule: _Schedule, seed: int, epoch: int) -> Iterator[np.ndarray]:
    """Row indices of each batch of ``epoch``; the order depends only on (seed, epoch), so a
    resumed run sees the same batches."""
    order = np.random.default_rng([seed, epoch]).permutation(n_images)
    for start in range(0, schedule.steps_per_epoch * schedule.batch_size, schedule.batch_size):
        # Sorted rows read a memory-mapped cache front to back.
        yield np.sort(order[start : start + schedule.batch_size])


def _load_batch(pixels: np.ndarray, rows: np.ndarray, device: torch.device) -> torch.Tensor:
    batch = torch.from_numpy(np.ascontiguousarray(pixels[rows]))
    if device.type == "cuda":
        return batch.pin_memory().to(device, non_blocking=True)
    return batch


def _validate_pixels(pixels: np.ndarray) -> None:
    if pixels.ndim != 4 or pixels.shape[-1] != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"pixels must be a uint8 array (N, H, W, 3), got {pixels.dtype} {pixels.shape}")
    if pixels.shape[0] < 2:
        raise ValueError(f"pretraining needs at least 2 images, got {pixels.shape[0]}")


def pretrain(
    pixels: np.ndarray,
    config: PretrainConfig,
    *,
    on_progress: Callable[[PretrainProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    device: torch.device | None = None,
    progress_interval_s: float = 3.0,
    resume_from: Mapping[str, Any] | None = None,
    on_epoch_end: Callable[[PretrainRun], None] | None = None,
) -> nn.Module:
    """Pretrain an encoder with BYOL on ``pixels`` and return it (CPU, eval mode).

    ``pixels``: uint8 (N, H, W, 3), typically a memory-mapped pixel cache; batches are read by
    index, augmented on ``device`` (default :func:`pick_device`). ``on_progress`` is called at the
    end of every epoch and at most every ``progress_interval_s`` in between. ``should_stop`` is
    polled before every step; True raises :class:`PretrainCancelled`. ``resume_from`` is a
    ``PretrainRun.state_dict()`` saved by an earlier run of the same config (e.g. from
    ``on_epoch_end``, which receives the run after each epoch).
    """
    _validate_pixels(pixels)
    device = device or pick_device()
    n_images = pixels.shape[0]
    schedule = _schedule(n_images, config)
    run = PretrainRun(config, schedule.total_steps, device)
    if resume_from is not None:
        run.load_state_dict(resume_from)
    started, steps_at_start = time.monotonic(), run.step
    last_report = started
    loss_sum, loss_steps, last_loss = torch.zeros((), device=device), 0, float("nan")

    def report(epoch: int) -> None:
        nonlocal last_report, loss_sum, loss_steps, last_loss
        now = time.monotonic()
        if loss_steps:
            # The only host sync for the loss: once per report, not once per step.
            last_loss = float(loss_sum.item()) / loss_steps
        steps_done = run.step - steps_at_start
        seconds_per_step = (now - started) / max(steps_done, 1)
        if on_progress is not None:
            on_progress(
                PretrainProgress(
                    epoch=epoch,
                    epochs=schedule.epochs,
                    step=run.step,
                    total_steps=schedule.total_steps,
                    loss=last_loss,
                    images_per_s=steps_done * schedule.batch_size / max(now - started, 1e-9),
                    eta_s=(schedule.total_steps - run.step) * seconds_per_step,
                )
            )
        last_report, loss_sum, loss_steps = now, torch.zeros((), device=device), 0

    for epoch in range(run.step // schedule.steps_per_epoch, schedule.epochs):
        skip = run.step - epoch * schedule.steps_per_epoch
        for i, rows in enumerate(_epoch_batches(n_images, schedule, config.seed, epoch)):
            if i < skip:
                continue
            if should_stop is not None and should_stop():
                raise PretrainCancelled(f"pretraining cancelled at step {run.step} of {schedule.total_steps}")
            loss_sum += run.train_step(_load_batch(pixels, rows, device))
            loss_steps += 1
            if time.monotonic() - last_report >= progress_interval_s:
                report(epoch + 1)
        report(epoch + 1)
        if on_epoch_end is not None:
            on_epoch_end(run)
    return run.encoder()
