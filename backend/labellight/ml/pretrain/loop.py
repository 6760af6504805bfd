"""The BYOL pretraining loop over a uint8 pixel cache, with progress, cancellation, checkpoints (after
every epoch and at most every few minutes within one), resume (mid-epoch included) and the guard
that keeps the starting backbone when continued pretraining did not improve it. The loop and the
guard also serve the processes of a distributed run (:mod:`labellight.ml.pretrain.distributed.pretrain`)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from labellight.ml.backbone_init import WeightsReport
from labellight.ml.device import pick_device
from labellight.ml.label_guard import LabelAccuracyGuard, LabeledImages
from labellight.ml.pretrain.budget import EPOCHS_DONE, BudgetPlanner
from labellight.ml.pretrain.config import PretrainConfig
from labellight.ml.pretrain.run import PretrainRun
from labellight.ml.pretrain.schedule import Schedule, epoch_batches, load_batch, plan_epochs, schedule_for
from labellight.ml.quality import BackboneChoice, BackboneGuard, ViewConsistencyGuard


@dataclass
class PretrainProgress:
    """A progress report. ``epoch`` counts from 1; ``epochs`` is the planned number (from the
    time budget when one is set); ``loss`` is the mean BYOL loss over the steps since the
    previous report; ``eta_s`` extrapolates this call's mean step time. ``collapse_std``: the
    per-dimension std of the L2-normalised online projections of the latest step, about
    1/sqrt(proj_dim) when healthy and falling towards 0 when the representation collapses.
    ``loss_history``: (step, mean loss) at every report of the run so far, resumed runs included
    (at most :data:`~labellight.ml.pretrain.run.MAX_LOSS_POINTS`). With a time budget, ``epochs`` and
    ``total_steps`` are the current plan (re-planned as the step time changes: ``replans`` times so
    far) and ``budget_used_s`` the seconds of ``budget_s`` spent."""

    epoch: int
    epochs: int
    step: int
    total_steps: int
    loss: float
    images_per_s: float
    eta_s: float
    collapse_std: float = float("nan")
    loss_history: list[list[float]] = field(default_factory=list)
    budget_s: float | None = None
    budget_used_s: float | None = None
    replans: int = 0


class PretrainCancelled(Exception):
    """Raised when ``should_stop`` returns True; the run stops before its next step."""


@dataclass
class PretrainResult:
    """What :func:`pretrain_with_report` produced.

    ``backbone``: the encoder to ship (CPU, eval mode). ``kept``: ``"pretrained"`` or
    ``"initial"`` (the guard found the starting weights better). ``start``: ``"random"``,
    ``"weights file"`` or ``"state dict"``. ``epochs``: the epochs begun (the last may be partial when a
    time budget ended the run); ``total_steps``: the steps run; ``epochs_run``: steps / steps per epoch.
    ``stop_reason``: why training ended, in words (:data:`~labellight.ml.pretrain.budget.EPOCHS_DONE`,
    or the budget's figures). ``elapsed_s``: the budget's clock from the start to the guard's verdict
    (None without a budget). ``choice``: the guard's comparison (None when the guard did not run).
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
    epochs_run: float = 0.0
    stop_reason: str = EPOCHS_DONE
    budget_s: float | None = None
    elapsed_s: float | None = None
    replans: int = 0


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
    clock: Callable[[], float] = time.monotonic,
) -> tuple[Schedule, float | None]:
    """The run's schedule: configured epochs, or (time budget) the epochs of the checkpoint being
    resumed, or epochs planned from the measured step time of a throw-away run
    ``make_run(total_steps)``. The budget covers building the probe, the probe and training; the
    guard's scoring comes on top (a :class:`BudgetPlanner` then re-plans the run while it trains, and
    sets the scoring's time aside). A resumed budgeted run keeps the checkpoint's number of steps."""
    n_images = pixels.shape[0]
    schedule = schedule_for(n_images, config)
    if config.time_budget_s is None:
        return schedule, None
    if resume_from is not None:
        total_steps = int(resume_from["total_steps"])
        return replace(schedule, epochs=math.ceil(total_steps / schedule.steps_per_epoch), steps=total_steps), None
    started = clock()
    probe = make_run(1_000_000)
    rows = next(epoch_batches(n_images, schedule, config.seed, 0))
    batch = load_batch(pixels, rows, probe.device)
    budget_s = config.time_budget_s - (clock() - started)
    epochs, seconds_per_step = plan_epochs(budget_s, n_images, config, lambda: probe.train_step(batch), clock)
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
    clock: Callable[[], float] = time.monotonic,
    labeled: LabeledImages | None = None,
    start_image_size: int | None = None,
) -> PretrainResult:
    """Pretrain an encoder with BYOL on ``pixels``; see :func:`pretrain` for the arguments.

    ``init_state``: backbone state dict to continue from (an earlier model of the project); else
    ``config.init_weights``; else a random start. ``guard`` (default ``config.guard``, and when
    that is None: on when starting from weights) compares the starting and the trained encoder
    with :func:`labellight.ml.quality.choose_backbone` and ships the better one; when ``labeled``
    holds at least 2 classes of 2 labels, by the cross-validated accuracy of the linear head on them
    instead (:class:`~labellight.ml.label_guard.LabelAccuracyGuard`; the start embedded at
    ``start_image_size``, default ``config.image_size``, as the project has it).

    ``config.time_budget_s``: the whole call (planning, training and the guard) fits the budget,
    re-planned while it trains (:class:`~labellight.ml.pretrain.budget.BudgetPlanner`); ``clock``
    (seconds) is the budget's clock.
    """
    validate_pixels(pixels)
    device = device or pick_device()

    def make_run(total_steps: int) -> PretrainRun:
        return PretrainRun(config, total_steps, device, init_state=init_state)

    budget = None
    if config.time_budget_s is not None:
        used = float(resume_from.get("budget_used_s", 0.0)) if resume_from is not None else 0.0
        budget = BudgetPlanner.start(config.time_budget_s, clock, used)
    schedule, seconds_per_step = planned_schedule(pixels, config, resume_from, make_run, clock)
    run = PretrainRun(replace(config, epochs=schedule.epochs), schedule.total_steps, device, init_state=init_state)

    def train_run() -> None:
        train(run, pixels, schedule, on_progress, should_stop, progress_interval_s, checkpoints, budget)

    return train_and_guard(run, pixels, schedule, train_run, resume_from=resume_from, guard=guard,
                           from_state=init_state is not None, seconds_per_step=seconds_per_step, budget=budget,
                           labeled=labeled, start_image_size=start_image_size)


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
    budget: BudgetPlanner | None = None,
    labeled: LabeledImages | None = None,
    start_image_size: int | None = None,
) -> PretrainResult:
    """Restore ``resume_from`` into ``run``, call ``train_run``, and ship the trained encoder, or the
    starting one when the guard (see :func:`pretrain_with_report`) finds it better. The starting
    encoder is scored before training: the time it takes is set aside from ``budget`` for scoring
    the trained one."""
    config = run.config
    start = "random" if run.weights_report is None else ("state dict" if from_state else "weights file")
    if guard is None:
        guard = run.weights_report is not None if config.guard is None else config.guard
    initial = run.encoder() if guard else None
    checker: BackboneGuard | None = None
    initial_score: Any = None
    if initial is not None:
        scoring_started = budget.clock() if budget is not None else 0.0
        usable = labeled.usable() if labeled is not None else None
        checker = ViewConsistencyGuard(pixels, config.image_size, seed=config.seed, device=run.device) \
            if usable is None else LabelAccuracyGuard(usable, before_size=start_image_size or config.image_size,
                                                      after_size=config.image_size, seed=config.seed,
                                                      device=run.device)
        initial_score = checker.score_before(initial)
        if budget is not None:
            budget.reserve_s = budget.clock() - scoring_started
    if resume_from is not None:
        run.load_state_dict(resume_from)
    train_run()
    trained = run.encoder()
    steps_per_epoch = schedule.steps_per_epoch
    result = PretrainResult(
        trained, "pretrained", "no guard", start, max(1, math.ceil(run.step / steps_per_epoch)), run.step,
        seconds_per_step, run.weights_report, epochs_run=round(run.step / steps_per_epoch, 3),
    )
    if budget is not None:
        result.stop_reason = budget.reason(run, steps_per_epoch)
        result.budget_s, result.replans = budget.budget_s, budget.replans
        result.seconds_per_step = budget.seconds_per_step or seconds_per_step
    else:
        result.stop_reason = f"{EPOCHS_DONE}: {result.epochs_run:g} of {config.epochs} epochs ({run.step} steps)"
    if checker is not None and initial is not None and initial_score is not None:
        choice = checker.choose(initial_score, checker.score_after(trained))
        shipped = trained if choice.kept == "after" else initial
        result.backbone, result.choice, result.reason = shipped, choice, choice.reason
        result.kept = "pretrained" if choice.kept == "after" else "initial"
        shipped.to("cpu")
    if budget is not None:
        result.elapsed_s = round(budget.used_s(), 1)
    return result


def train(
    run: PretrainRun,
    pixels: np.ndarray,
    schedule: Schedule,
    on_progress: Callable[[PretrainProgress], None] | None,
    should_stop: Callable[[], bool] | None,
    progress_interval_s: float,
    checkpoints: CheckpointPolicy | None,
    budget: BudgetPlanner | None = None,
) -> None:
    """Run the steps from ``run.step`` to ``run.total_steps`` (``schedule``'s, or as ``budget``
    re-plans it after each step): the BYOL loop itself."""
    device, n_images = run.device, pixels.shape[0]
    steps_per_epoch = schedule.steps_per_epoch
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
                    epochs=math.ceil(run.total_steps / steps_per_epoch),
                    step=run.step,
                    total_steps=run.total_steps,
                    loss=run.loss_history[-1][1] if run.loss_history else float("nan"),
                    images_per_s=steps_done * schedule.batch_size / max(now - started, 1e-9),
                    eta_s=(run.total_steps - run.step) * seconds_per_step,
                    collapse_std=run.collapse_std(),
                    loss_history=list(run.loss_history),
                    budget_s=budget.budget_s if budget is not None else None,
                    budget_used_s=round(budget.used_s(), 1) if budget is not None else None,
                    replans=budget.replans if budget is not None else 0,
                )
            )
        last_report, loss_sum, loss_steps = now, torch.zeros((), device=device), 0

    def checkpoint(epoch: int) -> None:
        nonlocal last_checkpoint
        report(epoch)  # first, so that the loss history in the checkpoint reaches its step
        if checkpoints is not None:
            checkpoints.save(run)
            last_checkpoint = checkpoints.clock()

    if budget is not None:
        budget.begin(run)
    epoch = run.step // steps_per_epoch
    while run.step < run.total_steps:
        skip = run.step - epoch * steps_per_epoch
        for i, rows in enumerate(epoch_batches(n_images, schedule, run.config.seed, epoch)):
            if i < skip:
                continue
            if run.step >= run.total_steps:  # a time budget ended the run within this epoch
                break
            if should_stop is not None and should_stop():
                raise PretrainCancelled(f"pretraining cancelled at step {run.step} of {run.total_steps}")
            loss_sum += run.train_step(load_batch(pixels, rows, device))
            loss_steps += 1
            if budget is not None:
                budget.after_step(run)
            if time.monotonic() - last_report >= progress_interval_s:
                report(epoch + 1)
            if (
                checkpoints is not None
                and i + 1 < steps_per_epoch
                and checkpoints.clock() - last_checkpoint >= checkpoints.interval_s
            ):
                checkpoint(epoch + 1)
        checkpoint(epoch + 1)
        epoch += 1


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
