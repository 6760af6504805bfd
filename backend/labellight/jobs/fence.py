"""The fence a job passes inside the transaction that commits its results."""

from datetime import timedelta
from enum import Enum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from labellight.db.base import utcnow
from labellight.db.models import Job, Project
from labellight.jobs.routes import JobState


class Fence(Enum):
    HELD = "held"
    """The job may commit: its project exists and this attempt still runs it."""
    CANCELLED = "cancelled"
    """The user asked to cancel the job."""
    LOST = "lost"
    """The project or the job row is gone (deleted), or another attempt took the job over."""


def hold_for_commit(session: Session, project_id: int, job_id: int, attempt: int, lease_seconds: int) -> Fence:
    """Lock the job's project and its row until ``session`` ends, and say whether attempt ``attempt`` may commit.

    The locks are taken project first, then job: the order in which deleting a project takes them (the
    job rows go with it by cascade), so the two never deadlock on PostgreSQL, and a project delete waits
    for the commit or finds it done. On SQLite the update of the job row takes the database's write
    lock; a project deleted before that has taken its job rows with it, so the update finds none.
    """
    project = session.scalar(select(Project.id).where(Project.id == project_id).with_for_update(read=True))
    if project is None:
        return Fence.LOST
    held = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.project_id == project_id, Job.state == JobState.RUNNING.value,
               Job.attempts == attempt)
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    if held.rowcount != 1:  # type: ignore[attr-defined]
        return Fence.LOST
    if session.scalar(select(Job.cancel_requested).where(Job.id == job_id)):
        return Fence.CANCELLED
    return Fence.HELD
