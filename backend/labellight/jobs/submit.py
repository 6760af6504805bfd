"""Create a job row, commit it, then hand its id to the broker (never before the commit)."""

from typing import Any

from sqlalchemy.orm import Session

from labellight.db.models import Job
from labellight.jobs import rows as job_rows
from labellight.jobs.payloads import JobParams, params_json, parse_params
from labellight.jobs.routes import JobKind
from labellight.jobs.transport import send_job


def submit_job(session: Session, project_id: int, kind: JobKind, params: JobParams | dict[str, Any]) -> Job:
    """Queue a job of ``kind``; :class:`~labellight.jobs.payloads.InvalidParams` (nothing written) when
    ``params`` do not fit the kind."""
    checked = parse_params(kind, params)
    job = job_rows.create_job(session, project_id, kind, params_json(checked))
    session.commit()
    send_job(kind, job.id)
    return job
