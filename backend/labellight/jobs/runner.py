"""Run one job by id: claim it, call the handler its task names, record the outcome. Safe to call twice.

The runner knows no use-case: a worker's task hands it the handler of its job kind (the table lives in
``labellight.services.job_handlers``). A handler takes the job's context, whose params are the kind's model,
and returns the kind's result model (or the same as a dict); it ends the job early by raising
:class:`JobCancelled` or :class:`JobFailed`."""

import logging
from collections.abc import Callable
from typing import Any

from labellight.config import get_settings
from labellight.db.models import Job, Project
from labellight.db.session import session_scope
from labellight.jobs import rows as job_rows
from labellight.jobs.context import JobCancelled, JobContext, JobFailed, LeaseLost
from labellight.jobs.payloads import InvalidParams, JobResult, parse_params, result_json
from labellight.jobs.routes import JobKind, JobState
from labellight.storage import get_storage
from labellight.storage.keys import project_prefix

log = logging.getLogger(__name__)

Handler = Callable[[JobContext[Any]], JobResult | dict[str, Any]]


def run_job(job_id: int, handler: Handler) -> str:
    """Claim and run a job with ``handler``; returns the state it ended in (or ``skipped`` when not claimable).

    Params that do not fit the job's kind (a row written by hand, or by an older version that stored
    something else) fail the job with a message naming the field."""
    settings = get_settings()
    with session_scope() as session:
        if not job_rows.claim_job(session, job_id, settings.job_lease_seconds):
            return "skipped"
        job = session.get(Job, job_id)
        if job is None:
            return "skipped"
        kind = JobKind(job.kind)
        try:
            params = parse_params(kind, dict(job.params))
        except InvalidParams as exc:
            job_rows.finish_job(session, job_id, JobState.FAILED, attempt=job.attempts, error=str(exc),
                                progress={**job.progress, "stage": JobState.FAILED.value})
            return JobState.FAILED.value
        ctx = JobContext(job.id, job.project_id, params, job.attempts, progress_floor=_stored_fraction(job.progress))
    try:
        with ctx.lease_kept():
            ctx.report("starting", 0.0, force=True)
            state, result, error = _execute(kind, handler, ctx)
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


def _execute(kind: JobKind, handler: Handler,
             ctx: JobContext[Any]) -> tuple[JobState, dict[str, Any] | None, str | None]:
    try:
        return JobState.SUCCEEDED, result_json(kind, handler(ctx)), None
    except JobCancelled:
        return JobState.CANCELLED, None, None
    except LeaseLost:
        raise
    except JobFailed as exc:
        return JobState.FAILED, None, str(exc)
    except Exception as exc:
        log.exception("job %s failed", ctx.job_id)
        return JobState.FAILED, None, f"internal error: {type(exc).__name__}: {exc}"
