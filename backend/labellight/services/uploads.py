"""Accept uploaded files: stage them in storage and queue an ingest job over them."""

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from labellight.db.models import Job, User
from labellight.ingest.names import display_path, printable
from labellight.jobs import rows as job_rows
from labellight.jobs.payloads import params_json, parse_params
from labellight.jobs.routes import JobKind
from labellight.jobs.transport import send_job
from labellight.services import quotas
from labellight.services.errors import InvalidInput
from labellight.services.projects import get_project
from labellight.storage import get_storage
from labellight.storage.keys import upload_key, upload_prefix

_COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class IncomingFile:
    name: str
    stream: BinaryIO


@dataclass(frozen=True)
class StoredFile:
    """A file already in storage (a finished resumable upload): moved into the job's input, not copied."""

    name: str
    path: Path


def safe_display_name(name: str) -> str:
    """The base name without control characters, at most 255 characters. Shown, never used as a path."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = printable(base)
    return (cleaned or "unnamed")[:255]


def start_ingest(session: Session, user: User, project_id: int,
                 files: Sequence[IncomingFile | StoredFile]) -> Job:
    """Stage every file, then queue one ingest job. On any error nothing stays behind: copies are
    removed and moved files go back where they were."""
    project = get_project(session, user, project_id)
    if not files:
        raise InvalidInput("no files were sent: use the multipart field 'files'")
    storage = get_storage()
    quotas.check_active_jobs(session, user)
    job = job_rows.create_job(session, project.id, JobKind.INGEST, {})
    moved: list[tuple[Path, Path]] = []
    try:
        staged = []
        for index, incoming in enumerate(files):
            key = upload_key(project.id, job.id, index)
            target = storage.path(key)
            if isinstance(incoming, StoredFile):
                _move(incoming.path, target)
                moved.append((incoming.path, target))
            else:
                _copy(incoming.stream, target)
            # The relative path (a picked folder's "cats/a.png") lets the ingest read class folders.
            staged.append({"name": safe_display_name(incoming.name), "key": key, "path": display_path(incoming.name)})
        job.params = params_json(parse_params(JobKind.INGEST, {"files": staged}))
        session.commit()
    except BaseException:
        session.rollback()
        for origin, target in moved:
            _move(target, origin)
        storage.delete_tree(upload_prefix(project.id, job.id))
        raise
    send_job(JobKind.INGEST, job.id)
    return job


def _move(source: Path, target: Path) -> None:
    """A rename when both lie on one file system (they do under one storage root), else a copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(source, target)


def _copy(stream: BinaryIO, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        shutil.copyfileobj(stream, out, _COPY_CHUNK)
