"""Jobs as users see them: list, read, an ingest's per-file report, cancel, retry."""

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labellight.db.models import Job, User
from labellight.jobs import rows as job_rows
from labellight.jobs.events import job_changes
from labellight.jobs.routes import JobKind, JobState
from labellight.jobs.transport import send_job
from labellight.services.errors import Conflict, NotFound
from labellight.services.projects import get_project


def list_jobs(session: Session, user: User, project_id: int, limit: int = 100) -> list[Job]:
    project = get_project(session, user, project_id)
    return list(session.scalars(
        select(Job).where(Job.project_id == project.id).order_by(Job.id.desc()).limit(limit)
    ))


def open_job_changes(session: Session, user: User, project_id: int,
                     is_disconnected: Callable[[], Awaitable[bool]]) -> AsyncIterator[list[Job]]:
    """Check access now, then stream lists of the project's changed jobs (see ``jobs.events``)."""
    project = get_project(session, user, project_id)
    return job_changes(project.id, is_disconnected)


def get_job(session: Session, user: User, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound("job not found")
    try:
        get_project(session, user, job.project_id)
    except NotFound:
        raise NotFound("job not found") from None
    return job


@dataclass(frozen=True)
class FileReportPage:
    items: list[dict[str, Any]]
    total: int


def file_report(session: Session, user: User, job_id: int, status: str | None, offset: int,
                limit: int) -> FileReportPage:
    """A page of an ingest job's per-file report (404 for other jobs, 409 until the job has one)."""
    job = get_job(session, user, job_id)
    if job.kind != JobKind.INGEST.value:
        raise NotFound("only an ingest job has a per-file report")
    if job.result is None:
        raise Conflict(f"the ingest job is {job.state}: its report comes when it has succeeded")
    entries = [e for e in job.result.get("files", []) if status is None or e.get("status") == status]
    return FileReportPage(entries[offset:offset + limit], len(entries))


def cancel_job(session: Session, user: User, job_id: int) -> Job:
    job = get_job(session, user, job_id)
    job_rows.request_cancel(session, job)
    session.commit()
    return job


RETRYABLE = frozenset({JobState.FAILED.value, JobState.CANCELLED.value})


def retry_job(session: Session, user: User, job_id: int) -> Job:
    job = get_job(session, user, job_id)
    if job.state not in RETRYABLE:
        raise Conflict(f"only failed or cancelled jobs can be retried; this one is {job.state}")
    job_rows.requeue(session, job)
    session.commit()
    send_job(JobKind(job.kind), job.id)
    return job
