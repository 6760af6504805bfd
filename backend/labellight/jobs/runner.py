"""Run one job by id: claim it, call its handler, record the outcome. Safe to call twice."""

import logging
from collections.abc import Callable
from typing import Any

from labellight.config import get_settings
from labellight.db import jobs as job_rows
from labellight.db.models import Job, Project
from labellight.db.session import session_scope
from labellight.jobs.routes import JobKind, JobState
from labellight.ml.pretrain import PretrainCancelled
from labellight.services.job_context import JobCancelled, JobContext, JobFailed, LeaseLost
from labellight.storage import get_storage
from labellight.storage.keys import project_prefix

log = logging.getLogger(__name__)

Handler = Callable[[JobContext], dict[str, Any]]


def _handlers() -> dict[JobKind, Handler]:
    from labellight.services import (
        batch_predictions,
        classifier_training,
        embedding,
        finetuning,
        ingestion,
        model_export,
        pretraining,
    )

    return {
        JobKind.INGEST: ingestion.run_ingest,
        JobKind.PRETRAIN: pretraining.run_pretrain,
        JobKind.EMBED: embedding.run_embed,
        JobKind.TRAIN: classifier_training.run_train,
        JobKind.PREDICT: batch_predictions.run_batch_predict,
        JobKind.EXPORT: model_export.run_export,
        JobKind.FINETUNE: finetuning.run_finetune,
    }


def run_job(job_id: int) -> str:
    """Claim and run a job; returns the state it ended in (or ``skipped`` when not claimable)."""
    settings = get_settings()
    with session_scope() as session:
        if not job_rows.claim_job(session, job_id, settings.job_lease_seconds):
            return "skipped"
        job = session.get(Job, job_id)
        if job is None:
            return "skipped"
        ctx = JobContext(job.id, job.project_id, dict(job.params), job.attempts,
                         progress_floor=_stored_fraction(job.progress))
        kind = JobKind(job.kind)
    try:
        with ctx.lease_kept():
            ctx.report("starting", 0.0, force=True)
            state, result, error = _execute(_handlers()[kind], ctx)
    except LeaseLost:
        log.warning("job %s attempt %s was handed on; this attempt stops", job_id, ctx.attempt)
        _remove_files_of_deleted_project(ctx.project_id)
        return "lease lost"
    progress = {**ctx.progress, "stage": state.value}
    if state is JobState.SUCCEEDED:
        progress["fraction"] = 1.0
    with session_scope() as session:
        recorded = job_rows.finish_job(session, job_id, state, attempt=ctx.attempt, result=result, error=error,
                                       progress=progress)
    if not recorded:
        _remove_files_of_deleted_project(ctx.project_id)
    return state.value if recorded else "lease lost"


def _remove_files_of_deleted_project(project_id: int) -> None:
    """A job whose project was deleted while it ran may have written files (a checkpoint, embeddings) after
    the project's folder was removed: they go now. Ids are never reused, so nothing else lives there."""
    with session_scope() as session:
        gone = session.get(Project, project_id) is None
    if gone:
        get_storage().delete_tree(project_prefix(project_id))


def _stored_fraction(progress: dict[str, Any] | None) -> float:
    fraction = (progress or {}).get("fraction")
    return float(fraction) if isinstance(fraction, int | float) else 0.0


def _execute(handler: Handler, ctx: JobContext) -> tuple[JobState, dict[str, Any] | None, str | None]:
    try:
        return JobState.SUCCEEDED, handler(ctx), None
    except (JobCancelled, PretrainCancelled):
        return JobState.CANCELLED, None, None
    except LeaseLost:
        raise
    except JobFailed as exc:
        return JobState.FAILED, None, str(exc)
    except Exception as exc:
        log.exception("job %s failed", ctx.job_id)
        return JobState.FAILED, None, f"internal error: {type(exc).__name__}: {exc}"
