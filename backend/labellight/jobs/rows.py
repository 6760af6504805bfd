"""Job rows: create, claim with a lease, heartbeat with progress, finish, cancel, find stale ones."""

from collections.abc import Collection
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from labellight.db.base import utcnow
from labellight.db.models import Job
from labellight.jobs.routes import FINAL_STATES, JobKind, JobState


def create_job(session: Session, project_id: int, kind: JobKind, params: dict[str, Any]) -> Job:
    job = Job(
        project_id=project_id, kind=kind.value, state=JobState.QUEUED.value, params=params,
        progress={"stage": "queued", "fraction": 0.0},
    )
    session.add(job)
    session.flush()
    return job


def claim_job(session: Session, job_id: int, lease_seconds: int) -> bool:
    """Atomically take a queued job, or a running one whose lease expired (its worker died).

    A second delivery of the same message finds the job running with a live lease and gets False."""
    now = utcnow()
    claimable = or_(
        Job.state == JobState.QUEUED.value,
        and_(Job.state == JobState.RUNNING.value, Job.lease_expires_at < now),
    )
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, claimable, Job.cancel_requested.is_(False))
        .values(
            state=JobState.RUNNING.value,
            attempts=Job.attempts + 1,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            started_at=now,
            error=None,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def heartbeat(
    session: Session, job_id: int, attempt: int, lease_seconds: int, progress: dict[str, Any] | None
) -> bool | None:
    """Extend the lease of attempt ``attempt`` (and store progress).

    Returns whether cancellation was requested, or None when this attempt no longer holds the job
    (its lease ran out and the sweeper handed the job to another attempt)."""
    values: dict[str, Any] = {"lease_expires_at": utcnow() + timedelta(seconds=lease_seconds)}
    if progress is not None:
        values["progress"] = progress
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.RUNNING.value, Job.attempts == attempt)
        .values(**values)
    )
    session.commit()
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def finish_job(
    session: Session,
    job_id: int,
    state: JobState,
    *,
    attempt: int | None = None,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    progress: dict[str, Any] | None = None,
) -> bool:
    """Record a final state; with ``attempt`` only if that attempt still holds the job."""
    if state not in FINAL_STATES:
        raise ValueError(f"{state} is not a final state")
    values: dict[str, Any] = {
        "state": state.value,
        "finished_at": utcnow(),
        "lease_expires_at": None,
        "result": result,
        "error": error[:2000] if error else None,
    }
    if progress is not None:
        values["progress"] = progress
    query = update(Job).where(Job.id == job_id)
    if attempt is not None:
        query = query.where(Job.state == JobState.RUNNING.value, Job.attempts == attempt)
    done = session.execute(query.values(**values))
    session.commit()
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def request_cancel(session: Session, job: Job) -> None:
    """A queued job is cancelled at once; a running one is flagged and stops at its next step."""
    if job.state in FINAL_STATES:
        return
    job.cancel_requested = True
    if job.state == JobState.QUEUED.value:
        job.state = JobState.CANCELLED.value
        job.finished_at = utcnow()
        job.progress = {**job.progress, "stage": "cancelled"}
    session.flush()


def requeue(session: Session, job: Job) -> None:
    """A failed or cancelled job becomes queued again, with a fresh budget of attempts."""
    job.state = JobState.QUEUED.value
    job.cancel_requested = False
    job.error = None
    job.result = None
    job.finished_at = None
    job.lease_expires_at = None
    job.attempts = 0
    job.progress = {**job.progress, "stage": "queued"}
    session.flush()


def stale_running_jobs(session: Session) -> list[Job]:
    now = utcnow()
    return list(session.scalars(
        select(Job).where(Job.state == JobState.RUNNING.value, Job.lease_expires_at < now)
    ))


def queued_jobs(session: Session, kinds: Collection[JobKind]) -> list[Job]:
    return list(session.scalars(
        select(Job).where(Job.state == JobState.QUEUED.value, Job.kind.in_([k.value for k in kinds])).order_by(Job.id)
    ))


def running_count(session: Session, kinds: Collection[JobKind]) -> int:
    return int(session.scalar(
        select(func.count(Job.id)).where(Job.state == JobState.RUNNING.value, Job.kind.in_([k.value for k in kinds]))
    ) or 0)
