"""The fine-tune job: backbone + head trained on the labeled images, kept only when its
cross-validated accuracy beats the current linear head's on the same labels and folds.

When kept, the fine-tuned backbone becomes a new backbone version (embedded and indexed in this
job, so search, the map, OOD flags and predictions use it) with a linear head trained on its
embeddings: the usual classifier record, so predictions and export work unchanged. That record's
cross-validated accuracy and metrics are the fine-tune's out-of-fold ones: the linear head's own
cross-validation on the new embeddings would be optimistic, because the backbone has seen every label.
The backbone's config lists those labels' images, so that later retrains on it leave them out of their
score (:mod:`labellight.services.classifier_training`).
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labellight.db import projects as project_rows
from labellight.db.models import Backbone, Classifier, Image, Job, LabelClass, Project, User
from labellight.db.session import session_scope
from labellight.ingest.pixels import PixelCache
from labellight.jobs.context import JobCancelled, JobContext, JobFailed
from labellight.jobs.payloads import EmbedParams, FinetuneParams
from labellight.jobs.routes import JobKind, JobState
from labellight.jobs.submit import submit_job
from labellight.ml.baselines import judge
from labellight.ml.checkpoint import save_state_dict
from labellight.ml.classifier import fit_linear_head
from labellight.ml.device import pick_device
from labellight.ml.finetune import (
    DEFAULT_EPOCHS,
    CrossValidation,
    FinetuneCancelled,
    FinetuneConfig,
    FinetuneProgress,
    cross_validate,
    finetune,
    fold_count,
)
from labellight.ml.metrics import classification_report
from labellight.services import embedding, quotas
from labellight.services.errors import Conflict
from labellight.services.model_store import backbone_module, embeddings
from labellight.services.projects import get_project
from labellight.storage import get_storage
from labellight.storage.keys import backbone_prefix, backbone_weights_key, classifier_key, pixel_cache_key

NO_BACKBONE = "pretrain first: the project has no embedded backbone yet"
NEED_TWO_CLASSES = "label images of at least two classes before fine-tuning"
# Job fractions: cross-validation and the final fine-tune share the first part by their runs.
_TRAINING_END, _EMBED_END = 0.85, 0.97


def _label_counts(session: Session, project_id: int) -> dict[int, int]:
    rows = session.execute(select(Image.class_id, func.count(Image.id)).where(
        Image.project_id == project_id, Image.class_id.is_not(None)).group_by(Image.class_id)).all()
    return {int(r.class_id): int(r[1]) for r in rows}


def _labels_problem(counts: dict[int, int], names: dict[int, str]) -> str | None:
    """What to label before a fine-tune can be cross-validated, or None when it can."""
    if len(counts) < 2:
        return NEED_TWO_CLASSES
    single = sorted(names.get(c, str(c)) for c, n in counts.items() if n < 2)
    if single:
        return ("cross-validation needs at least 2 labeled images of every labeled class: label one more of "
                + ", ".join(single))
    return None


def start_finetune(session: Session, user: User, project_id: int, epochs: int | None) -> Job:
    """Queue a fine-tune of the current backbone (409 without one, without two labeled classes that
    each have two labels, or while another fine-tune is queued or running)."""
    project = get_project(session, user, project_id)
    if project_rows.current_backbone(session, project.id) is None:
        raise Conflict(NO_BACKBONE)
    names = {c.id: c.name for c in project.classes}
    problem = _labels_problem(_label_counts(session, project.id), names)
    if problem is not None:
        raise Conflict(problem)
    busy = session.scalar(select(Job).where(
        Job.project_id == project.id, Job.kind == JobKind.FINETUNE.value,
        Job.state.in_([JobState.QUEUED.value, JobState.RUNNING.value])).limit(1))
    if busy is not None:
        raise Conflict(f"a fine-tune is already {busy.state} (job {busy.id}): wait for it or cancel it")
    quotas.check_active_jobs(session, user)
    return submit_job(session, project.id, JobKind.FINETUNE, {} if epochs is None else {"epochs": epochs})


@dataclass(frozen=True)
class _Labeled:
    backbone: Backbone
    image_ids: np.ndarray
    y: np.ndarray
    pixels: np.ndarray


def _load_labeled(project_id: int) -> _Labeled:
    with session_scope() as session:
        backbone = project_rows.current_backbone(session, project_id)
        project = session.get(Project, project_id)
        if backbone is None or project is None:
            raise JobFailed(NO_BACKBONE)
        rows = session.execute(select(Image.id, Image.class_id, Image.cache_row).where(
            Image.project_id == project_id, Image.class_id.is_not(None)).order_by(Image.id)).all()
        names = dict(session.execute(select(LabelClass.id, LabelClass.name)
                                     .where(LabelClass.project_id == project_id)).tuples().all())
        image_size = project.image_size
    y = np.array([r.class_id for r in rows], dtype=np.int64)
    classes, counts = np.unique(y, return_counts=True)
    problem = _labels_problem({int(c): int(n) for c, n in zip(classes, counts, strict=True)}, names)
    if problem is not None:
        raise JobFailed(problem)
    cache_rows = np.array([r.cache_row for r in rows], dtype=np.int64)
    cache = PixelCache(get_storage().path(pixel_cache_key(project_id)), image_size)
    pixels = np.asarray(cache.read(int(cache_rows.max()) + 1)[cache_rows])
    return _Labeled(backbone, np.array([r.id for r in rows], dtype=np.int64), y, pixels)


@dataclass(frozen=True)
class _Progress:
    """Fine-tune progress as job progress over [``low``, ``high``] of the job; the job's runs are the
    folds, then the final fine-tune (run ``first_run`` + the call's run)."""

    ctx: JobContext[FinetuneParams]
    stage: str
    low: float
    high: float
    first_run: int
    runs: int
    device: str

    def __call__(self, p: FinetuneProgress) -> None:
        fraction = self.low + (self.high - self.low) * p.step / max(p.total_steps, 1)
        self.ctx.report(self.stage, fraction, run=self.first_run + p.run, runs=self.runs, epoch=p.epoch,
                        epochs=p.epochs, loss=round(p.loss, 5), device=self.device)


@dataclass
class _ScaledContext(JobContext[EmbedParams]):
    """The job's context for a sub-step (the embed) whose fractions 0..1 map to [low, high] of the job."""

    low: float = 0.0
    high: float = 1.0

    def report(self, stage: str, fraction: float, *, force: bool = False, **metrics: Any) -> None:
        super().report(stage, self.low + (self.high - self.low) * fraction, force=force, **metrics)


def run_finetune(ctx: JobContext[FinetuneParams]) -> dict[str, Any]:
    labeled = _load_labeled(ctx.project_id)
    backbone, y = labeled.backbone, labeled.y
    config = FinetuneConfig(image_size=int(backbone.config["image_size"]),
                            epochs=ctx.params.epochs or DEFAULT_EPOCHS)
    device = pick_device()
    folds = fold_count(y)
    cv_end = _TRAINING_END * folds / (folds + 1)
    ctx.report("cross-validate", 0.0, force=True, run=1, runs=folds + 1, epochs=config.epochs, device=device.type)
    module = backbone_module(backbone)
    try:
        cv = cross_validate(module, labeled.pixels, y, config, device=device, should_stop=ctx.should_stop,
                            on_progress=_Progress(ctx, "cross-validate", 0.0, cv_end, 0, folds + 1, device.type))
        summary = {"cv_accuracy_finetuned": cv.accuracy_finetuned, "cv_accuracy_linear": cv.accuracy_linear,
                   "n_labels": len(y), "n_folds": cv.n_folds, "epochs": config.epochs, "device": device.type,
                   "backbone_version": backbone.version}
        compared = (f"{cv.accuracy_finetuned:.3f} against {cv.accuracy_linear:.3f} for the linear head, "
                    f"cross-validated on the same {cv.n_folds} folds of {len(y)} labels")
        if cv.accuracy_finetuned <= cv.accuracy_linear:
            return {"kept": "linear head", **summary, "reason": f"fine-tuning did not help: {compared}"}
        tuned = finetune(module, labeled.pixels, y, config, device=device, should_stop=ctx.should_stop,
                         on_progress=_Progress(ctx, "finetune", cv_end, _TRAINING_END, folds, folds + 1,
                                               device.type))
    except FinetuneCancelled as exc:
        raise JobCancelled() from exc
    shipped = _ship(ctx, backbone, tuned, config, labeled, cv)
    return {"kept": "finetuned", **summary, **shipped, **finetune_verdict(cv, compared)}


def finetune_verdict(cv: CrossValidation, compared: str) -> dict[str, Any]:
    """The shipped fine-tune in words: "helped" only when its accuracy beats guessing, since a gain
    between two scores at chance level is noise."""
    trust = judge(cv.accuracy_finetuned, np.unique(cv.y, return_counts=True)[1].tolist(), cv.n_folds)
    base = trust.baselines
    verdict = {"trustworthy": trust.trustworthy, "chance": base.chance if base else None,
               "majority_baseline": base.majority if base else None}
    if trust.trustworthy:
        return {**verdict, "reason": f"fine-tuning helped: {compared}"}
    return {**verdict, "reason": f"the fine-tuned model scored higher, but it is still {trust.reason}; {compared}"}


def _ship(ctx: JobContext[FinetuneParams], base: Backbone, tuned: torch.nn.Module, config: FinetuneConfig,
          labeled: _Labeled, cv: CrossValidation) -> dict[str, Any]:
    """Save ``tuned`` as a new backbone version, embed and index it, and train its linear head."""
    storage = get_storage()

    def store() -> tuple[int, int]:
        with session_scope() as session:
            ctx.confirm_commit(session)  # a cancel after the last step still ships nothing
            row = Backbone(project_id=ctx.project_id, ready=False, config={
                **base.config, "finetuned_from": base.version, "classes": sorted(set(labeled.y.tolist())),
                "cv_accuracy": cv.accuracy_finetuned,
                "finetune": {"epochs": config.epochs, "labels": len(cv.y), "image_ids": labeled.image_ids.tolist()}})
            version = project_rows.claim_next_version(session, row)
            save_state_dict(tuned, storage.path(backbone_weights_key(ctx.project_id, version)))
            return version, row.id

    version, backbone_id = project_rows.retry_on_clash(store)
    try:
        # The fine-tune trains the new backbone's head itself (below), not a job of its own.
        embed_params = EmbedParams(backbone_id=backbone_id, head_by_caller=True)
        embed_ctx = _ScaledContext(ctx.job_id, ctx.project_id, embed_params, ctx.attempt,
                                   progress_floor=ctx.progress_floor, low=_TRAINING_END, high=_EMBED_END)
        embedding.run_embed(embed_ctx)
        ctx.report("train", _EMBED_END, force=True)
        classifier_version = _train_head(ctx, backbone_id, labeled, cv)
    except BaseException:
        # Nothing half-shipped: without its head the new backbone must not become current.
        with session_scope() as session:
            orphan = session.get(Backbone, backbone_id)
            if orphan is not None:
                session.delete(orphan)
        storage.delete_tree(backbone_prefix(ctx.project_id, version))
        raise
    return {"new_backbone_version": version, "classifier_version": classifier_version}


def _train_head(ctx: JobContext[FinetuneParams], backbone_id: int, labeled: _Labeled, cv: CrossValidation) -> int:
    project_id = ctx.project_id
    with session_scope() as session:
        backbone = session.get(Backbone, backbone_id)
        if backbone is None:
            raise JobFailed("the fine-tuned backbone was deleted")
        emb = embeddings(backbone)
        version = backbone.version
    rows = emb.rows_of(labeled.image_ids)
    if (rows < 0).any():
        raise JobFailed("labeled images lost their embeddings while fine-tuning: run it again")
    head = fit_linear_head(emb.vectors[rows], labeled.y)
    metrics = classification_report(cv.y, cv.finetuned, head.classes).as_dict()

    def store() -> int:
        with session_scope() as session:
            ctx.confirm_commit(session)  # the head makes the new backbone current: the last point to cancel
            claimed = project_rows.claim_next_version(session, Classifier(
                project_id=project_id, backbone_id=backbone_id, cv_accuracy=cv.accuracy_finetuned,
                n_labels=len(cv.y), n_folds=cv.n_folds, metrics=metrics,
                cv_scope=f"out-of-fold predictions of the fine-tune that made backbone {version}"))
            head.save(get_storage().path(classifier_key(project_id, claimed)))
            return claimed

    return project_rows.retry_on_clash(store)

