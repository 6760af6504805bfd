"""Jobs: a project's list, one job, cancel."""

from fastapi import APIRouter, status

from labellight.api.deps import CurrentUser, SessionDep
from labellight.api.schemas import JobPublic
from labellight.services import jobs

router = APIRouter(tags=["jobs"])


@router.get("/projects/{project_id}/jobs")
def list_jobs(project_id: int, user: CurrentUser, session: SessionDep) -> list[JobPublic]:
    return [JobPublic.model_validate(j) for j in jobs.list_jobs(session, user, project_id)]


@router.get("/jobs/{job_id}")
def read_job(job_id: int, user: CurrentUser, session: SessionDep) -> JobPublic:
    return JobPublic.model_validate(jobs.get_job(session, user, job_id))


@router.post("/jobs/{job_id}/cancel")
def cancel_job(job_id: int, user: CurrentUser, session: SessionDep) -> JobPublic:
    return JobPublic.model_validate(jobs.cancel_job(session, user, job_id))


@router.post("/jobs/{job_id}/retry", status_code=status.HTTP_202_ACCEPTED)
def retry_job(job_id: int, user: CurrentUser, session: SessionDep) -> JobPublic:
    return JobPublic.model_validate(jobs.retry_job(session, user, job_id))
