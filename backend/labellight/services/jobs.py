"""Jobs as users see them: list, read, cancel; and the sweeper that re-sends lost or orphaned jobs."""

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labellight.config import get_settings
from labellight.db import jobs as job_rows
from labellight.db.models import Job, User
from labellight.db.session import session_scope
from labellight.jobs.routes import JobKind, JobState
from labellight.jobs.transport import send_job
from labellight.services.errors import Conflict, NotFound
from labellight.services.projects import get_project
from labellight.services.upload_sessions import remove_expired_uploads

log = logging.getLogger(__name__)


def list_jobs(session: Session, user: User, project_id: int, limit: int = 100) -> list[Job]:
    project = get_project(session, user, project_id)
    return list(session.scalars(
        select(Job).where(Job.project_id == project.id).order_by(Job.id.desc()).limit(limit)
    ))


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


def sweep(resend_queued: bool) -> int:
    """Re-queue running jobs whose lease expired (their worker died); fail those out of attempts; remove
    expired upload sessions.

    With ``resend_queued`` (at worker start) queued jobs are sent again too: an embedded broker loses
    the message of a task that was running when its worker was killed. A duplicate is harmless because
    claiming is atomic."""
    to_send: list[tuple[JobKind, int]] = []
    max_attempts = get_settings().job_max_attempts
    with session_scope() as session:
        for job in job_rows.stale_running_jobs(session):
            if job.attempts >= max_attempts:
                job_rows.finish_job(session, job.id, JobState.FAILED,
                                    error=f"the worker stopped during this job {job.attempts} times; giving up")
                continue
            job.state = JobState.QUEUED.value
            job.lease_expires_at = None
            to_send.append((JobKind(job.kind), job.id))
        if resend_queued:
            to_send.extend((JobKind(j.kind), j.id) for j in job_rows.queued_jobs(session))
    for kind, job_id in dict.fromkeys(to_send):
        send_job(kind, job_id)
    if to_send:
        log.info("sweeper sent %d job(s) again", len(to_send))
    expired = remove_expired_uploads()
    if expired:
        log.info("sweeper removed %d expired upload session(s)", expired)
    return len(to_send)
