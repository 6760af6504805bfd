"""Resumable uploads: a file arrives in chunks at increasing offsets, survives dropped connections, then
joins an ingest job.

The database row says how many bytes are safely on disk (``received``); the partial file may hold more
after a crash between the write and the commit, and that tail is cut before the next chunk is written.
Chunks of one upload are serialised by an exclusive lock on its file."""

import fcntl
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from labellight.config import get_settings
from labellight.db.base import utcnow
from labellight.db.models import Job, UploadSession, User
from labellight.db.session import session_scope
from labellight.ingest.names import display_path
from labellight.services import quotas
from labellight.services.errors import Conflict, InvalidInput, NotFound
from labellight.services.projects import get_project
from labellight.services.uploads import StoredFile, safe_display_name, start_ingest
from labellight.storage import get_storage
from labellight.storage.keys import upload_session_key

NOT_FOUND = "upload session not found: it expired, was cancelled or completed, or never existed"


class UploadTooLarge(InvalidInput):
    """The declared size is over the upload limit, or a chunk over the chunk size (413)."""


class RangeNotSatisfiable(InvalidInput):
    """A chunk that reaches past the declared size, or a total that differs from it (416)."""


class OffsetMismatch(Conflict):
    """A chunk that does not start where the received bytes end (409); ``received`` says where to resume."""

    def __init__(self, received: int) -> None:
        super().__init__(f"the chunk must start at byte {received}: the server holds the first {received} bytes; "
                         "send the rest from there")
        self.received = received


@dataclass(frozen=True)
class ChunkRange:
    """A ``Content-Range: bytes start-end/total`` header; ``end`` is inclusive as in HTTP."""

    start: int
    end: int
    total: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


_CONTENT_RANGE = re.compile(r"bytes (\d{1,19})-(\d{1,19})/(\d{1,19})")


def parse_content_range(header: str) -> ChunkRange:
    match = _CONTENT_RANGE.fullmatch(header.strip())
    if match is None:
        raise InvalidInput("Content-Range must read 'bytes FIRST-LAST/SIZE' (the chunk's first and last byte, "
                           f"inclusive, and the file's size), e.g. 'bytes 0-1048575/5000000'; got {header[:100]!r}")
    start, end, total = (int(group) for group in match.groups())
    if end < start:
        raise InvalidInput(f"Content-Range: the last byte ({end}) comes before the first ({start})")
    return ChunkRange(start, end, total)


def chunk_size() -> int:
    return get_settings().upload_chunk_bytes


def _expiry() -> timedelta:
    return timedelta(hours=get_settings().upload_session_hours)


def _path(row: UploadSession) -> Path:
    return get_storage().path(upload_session_key(row.project_id, row.id))


def create_upload(session: Session, user: User, project_id: int, filename: str, size: int) -> UploadSession:
    project = get_project(session, user, project_id)
    limit = get_settings().max_request_bytes
    if size > limit:
        raise UploadTooLarge(f"{safe_display_name(filename)}: {size} bytes is over the upload limit of {limit} bytes")
    quotas.check_open_uploads(session, user)
    row = UploadSession(id=secrets.token_urlsafe(32), user_id=user.id, project_id=project.id,
                        filename=display_path(filename), size=size, received=0,
                        expires_at=utcnow() + _expiry())
    session.add(row)
    session.commit()
    return row


def get_upload(session: Session, user: User, upload_id: str) -> UploadSession:
    """The user's upload session; an expired one is removed on the spot and answers NotFound."""
    row = session.get(UploadSession, upload_id)
    if row is None or row.user_id != user.id:
        raise NotFound(NOT_FOUND)
    if row.expires_at <= utcnow():
        _discard(session, row)
        raise NotFound(NOT_FOUND)
    return row


def append_chunk(session: Session, user: User, upload_id: str, chunk: ChunkRange, data: bytes) -> UploadSession:
    """Write ``data`` at ``chunk.start``, flushed to disk before the new ``received`` is committed."""
    row = get_upload(session, user, upload_id)
    _check_chunk(row, chunk, data)
    path = _path(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(os.open(path, os.O_RDWR | os.O_CREAT, 0o600)) as fd:
        current = session.get(UploadSession, upload_id, populate_existing=True)
        if current is None:  # cancelled or completed while this chunk waited for the lock
            path.unlink(missing_ok=True)
            raise NotFound(NOT_FOUND)
        on_disk = os.fstat(fd).st_size
        if on_disk < current.received:  # the file lost its tail (a crash): resume from what is there
            current.received = on_disk
        if chunk.start != current.received:
            session.commit()
            raise OffsetMismatch(current.received)
        os.ftruncate(fd, current.received)  # drops a chunk that was written but never recorded
        os.lseek(fd, current.received, os.SEEK_SET)
        _write_all(fd, data)
        os.fsync(fd)
        current.received += len(data)
        current.expires_at = utcnow() + _expiry()
        session.commit()
    return current


def _check_chunk(row: UploadSession, chunk: ChunkRange, data: bytes) -> None:
    if chunk.total != row.size:
        raise RangeNotSatisfiable(f"this upload was declared as {row.size} bytes but Content-Range says {chunk.total}")
    if chunk.end >= row.size:
        raise RangeNotSatisfiable(f"the chunk ends at byte {chunk.end}, past the file's last byte ({row.size - 1})")
    if len(data) != chunk.length:
        raise InvalidInput(f"the body has {len(data)} bytes but Content-Range announces {chunk.length}")


def cancel_upload(session: Session, user: User, upload_id: str) -> None:
    _discard(session, get_upload(session, user, upload_id))


def complete_uploads(session: Session, user: User, project_id: int, upload_ids: list[str]) -> Job:
    """One ingest job over finished uploads; their files move into the job's input and the sessions end."""
    project = get_project(session, user, project_id)
    if len(set(upload_ids)) != len(upload_ids):
        raise InvalidInput("an upload session is listed more than once")
    try:
        rows = [get_upload(session, user, upload_id) for upload_id in upload_ids]
    except NotFound as missing:  # a 404 names the path's resource; these ids come in the body
        raise InvalidInput(str(missing)) from None
    for row in rows:
        if row.project_id != project.id:
            raise Conflict(f"upload session {row.id} ({row.filename}) belongs to another project")
        if row.received != row.size:
            raise Conflict(f"{row.filename}: {row.received} of {row.size} bytes received; send the rest first")
    files = [StoredFile(row.filename, _path(row)) for row in rows]
    for row in rows:
        session.delete(row)
    return start_ingest(session, user, project.id, files)


def remove_expired_uploads() -> int:
    """Remove upload sessions past their expiry and their partial files (run by the worker's sweeper)."""
    removed = 0
    with session_scope() as session:
        for row in session.scalars(select(UploadSession).where(UploadSession.expires_at <= utcnow())).all():
            _discard(session, row)
            removed += 1
    return removed


def _discard(session: Session, row: UploadSession) -> None:
    path = _path(row)
    lock: AbstractContextManager[object]
    try:
        lock = _exclusive(os.open(path, os.O_RDWR))  # waits for a chunk being written to finish
    except FileNotFoundError:
        lock = nullcontext()
    with lock:
        session.delete(row)
        session.commit()
        path.unlink(missing_ok=True)


@contextmanager
def _exclusive(fd: int) -> Iterator[int]:
    """An exclusive lock on an upload's open file, held until the block ends; the file is closed after."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
