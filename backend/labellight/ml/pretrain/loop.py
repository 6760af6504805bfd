"""The BYOL pretraining loop over a uint8 pixel cache, with progress, cancellation, checkpoints (after
every epoch and at most every few minutes within one), resume (mid-epoch included) and the guard
that keeps the starting backbone when continued pretraining did not improve it. The loop and the
guard also serve the processes of a distributed run (:mod:`labellight.ml.pretrain.distributed.pretrain`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from labellight.ml.backbone_init import WeightsReport
from labellight.ml.device import pick_device
from labellight.ml.pretrain.config import PretrainConfig
from labellight.ml.pretrain.run import PretrainRun
from labellight.ml.pretrain.schedule import Schedule, epoch_batches, load_batch, plan_epochs, schedule_for
from labellight.ml.quality import BackboneChoice, choose_backbone


@dataclass
class PretrainProgress:
    """A progress report. ``epoch`` counts from 1; ``epochs`` is the planned number (from the
    time budget when one is set); ``loss`` is the mean BYOL loss over the steps since the
    previous report; ``eta_s`` extrapolates this call's mean step time. ``collapse_std``: the
    per-dimension std of the L2-normalised online projections of the latest step, about
    1/sqrt(proj_dim) when healthy and falling towards 0 when the representation collapses.
    ``loss_history``: (step, mean loss) at every report of the run so far, resumed runs included
    (at most :data:`~labellight.ml.pretrain.run.MAX_LOSS_POINTS`)."""

    epoch: int
    epochs: int
    step: int
    total_steps: int
    loss: float
    images_per_s: float
    eta_s: float
    collapse_std: float = float("nan")
    loss_history: list[list[float]] = field(default_factory=list)


class PretrainCancelled(Exception):
    """Raised when ``should_stop`` returns True; the run stops before its next step."""


@dataclass
class PretrainResult:
    """What :func:`pretrain_with_report` produced.

    ``backbone``: the encoder to ship (CPU, eval mode). ``kept``: ``"pretrained"`` or
    ``"initial"`` (the guard found the starting weights better). ``start``: ``"random"``,
    ``"weights file"`` or ``"state dict"``. ``epochs``: as planned (time budget) or configured.
    ``choice``: the guard's comparison (None when the guard did not run).
    """

    backbone: nn.Module
    kept: str
    reason: str
    start: str
    epochs: int
    total_steps: int
    seconds_per_step: float | None = None
    weights_report: WeightsReport | None = None
    choice: BackboneChoice | None = None


def validate_pixels(pixels: np.ndarray) -> None:
    if pixels.ndim != 4 or pixels.shape[-1] != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"pixels must be a uint8 array (N, H, W, 3), got {pixels.dtype} {pixels.shape}")
    if pixels.shape[0] < 2:
        raise ValueError(f"pretraining needs at least 2 images, got {pixels.shape[0]}")


@dataclass(frozen=True)
class CheckpointPolicy:
    """When the loop hands the run to ``save`` (which writes ``run.state_dict()`` somewhere): after
    every epoch, and within an epoch after the first step that ends ``interval_s`` or more after the
    previous checkpoint (or the start), so a crash in a long epoch loses at most about
    ``interval_s``. ``clock`` (seconds) can be replaced to trigger checkpoints without waiting."""

    save: Callable[[PretrainRun], None]
    interval_s: float = 300.0
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        if not self.interval_s > 0:
            raise ValueError(f"the checkpoint interval must be > 0 seconds, got {self.interval_s}")


def planned_schedule(
    pixels: np.ndarray,
    config: PretrainConfig,
    resume_from: Mapping[str, Any] | None,
    make_run: Callable[[int], PretrainRun],
) -> tuple[Schedule, float | None]:
    """The run's schedule: configured epochs, or (time budget) the epochs of the checkpoint being
    resumed, or epochs planned from the measured step time of a throw-away run
    ``make_run(total_steps)``. The budget covers building the probe, the probe and training; the
    guard's scoring comes on top."""
    n_images = pixels.shape[0]
    schedule = schedule_for(n_images, config)
    if config.time_budget_s is None:
        return schedule, None
    if resume_from is not None:
        return schedule_for(n_images, config, int(resume_from["total_steps"]) // schedule.steps_per_epoch), None
    started = time.monotonic()
    probe = make_run(1_000_000)
    rows = next(epoch_batches(n_images, schedule, config.seed, 0))
    batch = load_batch(pixels, rows, probe.device)
    budget_s = config.time_budget_s - (time.monotonic() - started)
    epochs, seconds_per_step = plan_epochs(budget_s, n_images, config, lambda: probe.train_step(batch))
    return schedule_for(n_images, config, epochs), seconds_per_step


def pretrain_with_report(
    pixels: np.ndarray,
    config: PretrainConfig,
    *,
    on_progress: Callable[[PretrainProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    device: torch.device | None = None,
    progress_interval_s: float = 3.0,
    resume_from: Mapping[str, Any] | None = None,
    checkpoints: CheckpointPolicy | None = None,
    init_state: Mapping[str, Any] | None = None,
    guard: bool | None = None,
) -> PretrainResult:
    """Pretrain an encoder with BYOL on ``pixels``; see :func:`pretrain` for the arguments.

    ``init_state``: backbone state dict to continue from (an earlier model of the project); else
    ``config.init_weights``; else a random start. ``guard`` (default ``config.guard``, and when
    that is None: on when starting from weights) compares the starting and the trained encoder
    with :func:`labellight.ml.quality.choose_backbone` and ships the better one.
    """
    validate_pixels(pixels)
    device = device or pick_device()

    def make_run(total_steps: int) -> PretrainRun:
        return PretrainRun(config, total_steps, device, init_state=init_state)

    schedule, seconds_per_step = planned_schedule(pixels, config, resume_from, make_run)
    run = PretrainRun(replace(config, epochs=schedule.epochs), schedule.total_steps, device, init_state=init_state)

    def train_run() -> None:
        train(run, pixels, schedule, on_progress, should_stop, progress_interval_s, checkpoints)

    return train_and_guard(run, pixels, schedule, train_run, resume_from=resume_from, guard=guard,
                           from_state=init_state is not None, seconds_per_step=seconds_per_step)


def train_and_guard(
    run: PretrainRun,
    pixels: np.ndarray,
    schedule: Schedule,
    train_run: Callable[[], None],
    *,
    resume_from: Mapping[str, Any] | None,
    guard: bool | None,
    from_state: bool,
    seconds_per_step: float | None,
) -> PretrainResult:
    """Restore ``resume_from`` into ``run``, call ``train_run``, and ship the trained encoder, or the
    starting one when the guard (see :func:`pretrain_with_report`) finds it better."""
    config = run.config
    start = "random" if run.weights_report is None else ("state dict" if from_state else "weights file")
    if guard is None:
        guard = run.weights_report is not None if config.guard is None else config.guard
    initial = run.encoder() if guard else None
    if resume_from is not None:
        run.load_state_dict(resume_from)
    train_run()
    trained = run.encoder()
    result = PretrainResult(
        trained, "pretrained", "no guard", start, schedule.epochs, schedule.total_steps, seconds_per_step,
        run.weights_report,
    )
    if initial is not None:
        shipped, choice = choose_backbone(
            initial, trained, pixels, config.image_size, seed=config.seed, device=run.device
        )
        result.backbone, result.choice, result.reason = shipped, choice, choice.reason
        result.kept = "pretrained" if choice.kept == "after" else "initial"
        shipped.to("cpu")
    return result


def train(
    run: PretrainRun,
    pixels: np.ndarray,
    schedule: Schedule,
    on_progress: Callable[[PretrainProgress], None] | None,
    should_stop: Callable[[], bool] | None,
    progress_interval_s: float,
    checkpoints: CheckpointPolicy | None,
) -> None:
    """Run the steps from ``run.step`` to the end of ``schedule``: the BYOL loop itself."""
    device, n_images = run.device, pixels.shape[0]
    started, steps_at_start = time.monotonic(), run.step
    last_report = started
    last_checkpoint = checkpoints.clock() if checkpoints is not None else 0.0
    loss_sum, loss_steps = torch.zeros((), device=device), 0

    reported_step = -1

    def report(epoch: int) -> None:
        nonlocal last_report, loss_sum, loss_steps, reported_step
        if run.step == reported_step:  # e.g. the end of an epoch, just reported
            return
        reported_step = run.step
        now = time.monotonic()
        if loss_steps:
            # The only host syncs: once per report, not once per step.
            run.record_loss(float(loss_sum.item()) / loss_steps)
        steps_done = run.step - steps_at_start
        seconds_per_step = (now - started) / max(steps_done, 1)
        if on_progress is not None:
            on_progress(
                PretrainProgress(
                    epoch=epoch,
                    epochs=schedule.epochs,
                    step=run.step,
                    total_steps=schedule.total_steps,
                    loss=run.loss_history[-1][1] if run.loss_history else float("nan"),
                    images_per_s=steps_done * schedule.batch_size / max(now - started, 1e-9),
                    eta_s=(schedule.total_steps - run.step) * seconds_per_step,
                    collapse_std=run.collapse_std(),
                    loss_history=list(run.loss_history),
                )
            )
        last_report, loss_sum, loss_steps = now, torch.zeros((), device=device), 0

    def checkpoint(epoch: int) -> None:
        nonlocal last_checkpoint
        report(epoch)  # first, so that the loss history in the checkpoint reaches its step
        if checkpoints is not None:
            checkpoints.save(run)
            last_checkpoint = checkpoints.clock()

    for epoch in range(run.step // schedule.steps_per_epoch, schedule.epochs):
        skip = run.step - epoch * schedule.steps_per_epoch
        for i, rows in enumerate(epoch_batches(n_images, schedule, run.config.seed, epoch)):
            if i < skip:
                continue
            if should_stop is not None and should_stop():
                raise PretrainCancelled(f"pretraining cancelled at step {run.step} of {schedule.total_steps}")
            loss_sum += run.train_step(load_batch(pixels, rows, device))
            loss_steps += 1
            if time.monotonic() - last_report >= progress_interval_s:
                report(epoch + 1)
            if (
                checkpoints is not None
                and i + 1 < schedule.steps_per_epoch
                and checkpoints.clock() - last_checkpoint >= checkpoints.interval_s
            ):
                checkpoint(epoch + 1)
        checkpoint(epoch + 1)


def pretrain(
    pixels: np.ndarray,
    config: PretrainConfig,
    *,
    on_progress: Callable[[PretrainProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    device: torch.device | None = None,
    progress_interval_s: float = 3.0,
    resume_from: Mapping[str, Any] | None = None,
    checkpoints: CheckpointPolicy | None = None,
    init_state: Mapping[str, Any] | None = None,
    guard: bool | None = None,
) -> nn.Module:
    """Pretrain an encoder with BYOL on ``pixels`` and return it (CPU, eval mode).

    ``pixels``: uint8 (N, H, W, 3), typically a memory-mapped pixel cache; batches are read by
    index, augmented on ``device`` (default :func:`pick_device`). ``on_progress`` is called at the
    end of every epoch and at most every ``progress_interval_s`` in between. ``should_stop`` is
    polled before every step; True raises :class:`PretrainCancelled`. ``resume_from`` is a
    ``PretrainRun.state_dict()`` saved by an earlier run of the same config (e.g. by
    ``checkpoints``, see :class:`CheckpointPolicy`); the run continues from its step, mid-epoch
    included. ``init_state`` and ``guard``: see :func:`pretrain_with_report`, which also says which
    backbone was kept and why.
    """
    return pretrain_with_report(
        pixels,
        config,
        on_progress=on_progress,
        should_stop=should_stop,
        device=device,
        progress_interval_s=progress_interval_s,
        resume_from=resume_from,
        checkpoints=checkpoints,
        init_state=init_state,
        guard=guard,
    ).backbone
