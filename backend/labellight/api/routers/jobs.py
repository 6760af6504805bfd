"""Jobs: a project's list, one job, cancel."""

from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse

from labellight.api.deps import CurrentUser, SessionDep
from labellight.api.errors import PROJECT_ROUTES
from labellight.api.ids import MAX_ID, PathId
from labellight.api.job_schemas import FileReportEntryPublic, FileReportPublic, JobPublic
from labellight.services import jobs

router = APIRouter(tags=["jobs"], responses=PROJECT_ROUTES)


@router.get("/projects/{project_id}/jobs", response_model_exclude_unset=True)
def list_jobs(project_id: PathId, user: CurrentUser, session: SessionDep) -> list[JobPublic]:
    return [JobPublic.model_validate(j) for j in jobs.list_jobs(session, user, project_id)]


@router.get("/jobs/{job_id}", response_model_exclude_unset=True)
def read_job(job_id: PathId, user: CurrentUser, session: SessionDep) -> JobPublic:
    return JobPublic.model_validate(jobs.get_job(session, user, job_id))


@router.get("/jobs/{job_id}/files")
def read_file_report(job_id: PathId, user: CurrentUser, session: SessionDep,
                     status: Literal["accepted", "duplicate", "rejected"] | None = None,
                     offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> FileReportPublic:
    """What an ingest job did with each file (a page of it), optionally only the files of one status."""
    page = jobs.file_report(session, user, job_id, status, offset, limit)
    return FileReportPublic(items=[FileReportEntryPublic.model_validate(e) for e in page.items], total=page.total)


@router.post("/jobs/{job_id}/cancel", response_model_exclude_unset=True)
def cancel_job(job_id: PathId, user: CurrentUser, session: SessionDep) -> JobPublic:
    return JobPublic.model_validate(jobs.cancel_job(session, user, job_id))


@router.post("/jobs/{job_id}/retry", status_code=status.HTTP_202_ACCEPTED, response_model_exclude_unset=True)
def retry_job(job_id: PathId, user: CurrentUser, session: SessionDep) -> JobPublic:
    return JobPublic.model_validate(jobs.retry_job(session, user, job_id))


@router.get("/projects/{project_id}/events", response_class=StreamingResponse)
def job_events(project_id: PathId, request: Request, user: CurrentUser, session: SessionDep) -> StreamingResponse:
    changes = jobs.open_job_changes(session, user, project_id, request.is_disconnected)

    async def stream() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        async for jobs_changed in changes:
            if not jobs_changed:
                yield ": ping\n\n"
            for job in jobs_changed:
                yield f"event: job\ndata: {JobPublic.model_validate(job).model_dump_json(exclude_unset=True)}\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
