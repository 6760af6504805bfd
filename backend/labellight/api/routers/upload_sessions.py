"""Resumable uploads: open a session, PUT chunks with Content-Range, resume, cancel, complete into ingest."""

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Path, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from labellight.api.deps import CurrentUser, SessionDep
from labellight.api.errors import PROJECT_ROUTES, answers
from labellight.api.ids import PathId
from labellight.api.job_schemas import JobPublic
from labellight.api.schemas import (
    UploadOffsetConflict,
    UploadSessionCreate,
    UploadSessionPublic,
    UploadSessionsComplete,
)
from labellight.db.models import UploadSession
from labellight.services import upload_sessions
from labellight.services.upload_sessions import OffsetMismatch, RangeNotSatisfiable, UploadTooLarge

router = APIRouter(tags=["uploads"], responses={**PROJECT_ROUTES, **answers(413)})

UploadId = Annotated[str, Path(max_length=64, description="the id that POST .../upload-sessions answered")]


def _public(row: UploadSession) -> UploadSessionPublic:
    return UploadSessionPublic(id=row.id, filename=row.filename, size=row.size, received=row.received,
                               chunk_size=upload_sessions.chunk_size(), expires_at=row.expires_at)


@router.post("/projects/{project_id}/upload-sessions", status_code=status.HTTP_201_CREATED,
             responses={413: {"description": "the size is over the upload limit"}})
def create_upload_session(project_id: PathId, body: UploadSessionCreate, user: CurrentUser,
                          session: SessionDep) -> UploadSessionPublic:
    try:
        row = upload_sessions.create_upload(session, user, project_id, body.filename, body.size)
    except UploadTooLarge as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(exc)) from None
    return _public(row)


@router.get("/upload-sessions/{upload_id}")
def read_upload_session(upload_id: UploadId, user: CurrentUser, session: SessionDep) -> UploadSessionPublic:
    return _public(upload_sessions.get_upload(session, user, upload_id))


@router.put("/upload-sessions/{upload_id}", response_model=UploadSessionPublic, responses={
    409: {"model": UploadOffsetConflict, "description": "the chunk does not start at `received`; resume there"},
    413: {"description": "the chunk is larger than chunk_size"},
    416: {"description": "the range reaches past the declared size"},
})
async def put_upload_chunk(upload_id: UploadId, request: Request, user: CurrentUser, session: SessionDep,
                           content_range: Annotated[str, Header(description="bytes FIRST-LAST/SIZE")]) -> object:
    chunk = upload_sessions.parse_content_range(content_range)
    data = await _read_chunk(request)
    try:
        row = await run_in_threadpool(upload_sessions.append_chunk, session, user, upload_id, chunk, data)
    except OffsetMismatch as exc:
        return JSONResponse({"detail": str(exc), "received": exc.received}, status.HTTP_409_CONFLICT)
    except RangeNotSatisfiable as exc:
        raise HTTPException(status.HTTP_416_RANGE_NOT_SATISFIABLE, str(exc)) from None
    return _public(row)


async def _read_chunk(request: Request) -> bytes:
    """The body, refused with 413 as soon as it grows past the chunk size (memory stays bounded)."""
    limit = upload_sessions.chunk_size()
    too_large = HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                              f"a chunk may hold at most {limit} bytes (the session's chunk_size)")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    try:
        async for part in request.stream():
            body += part
            if len(body) > limit:
                raise too_large
    except ClientDisconnect:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the connection closed before the chunk arrived") from None
    return bytes(body)


@router.delete("/upload-sessions/{upload_id}", status_code=status.HTTP_204_NO_CONTENT)
def cancel_upload_session(upload_id: UploadId, user: CurrentUser, session: SessionDep) -> None:
    upload_sessions.cancel_upload(session, user, upload_id)


@router.post("/projects/{project_id}/upload-sessions/complete", status_code=status.HTTP_202_ACCEPTED,
             response_model_exclude_unset=True)
def complete_upload_sessions(project_id: PathId, body: UploadSessionsComplete, user: CurrentUser,
                             session: SessionDep) -> JobPublic:
    return JobPublic.model_validate(upload_sessions.complete_uploads(session, user, project_id, body.session_ids))
