"""Create a job row, commit it, then hand its id to the broker (never before the commit)."""

from typing import Any

from sqlalchemy.orm import Session

from labellight.db import jobs as job_rows
from labellight.db.models import Job
from labellight.jobs.routes import JobKind
from labellight.jobs.transport import send_job


def submit_job(session: Session, project_id: int, kind: JobKind, params: dict[str, Any]) -> Job:
    job = job_rows.create_job(session, project_id, kind, params)
    session.commit()
    send_job(kind, job.id)
    return job
