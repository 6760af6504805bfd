"""The ingest job: validate, de-duplicate, store, thumbnail and cache every staged file, all or nothing.

The ingests of one project run one at a time, whole, under the pixel cache's lock: what one reads as
committed (cache rows, known hashes) stays so until it commits, and what it undoes is only its own.

Pixel rows stream: every ``APPEND_CHUNK_BYTES`` of them are appended to the cache as the run goes, so its
memory does not grow with the upload (it held ~3 GB at 20k images of 224 px). Appended rows are not
committed: no image row refers to them and readers map only the rows the database's images use, until
the one transaction that inserts every image row. A run that fails or is cancelled truncates the cache
back to where it started; one killed outright leaves its rows as unused bytes past the committed ones.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labellight.config import get_settings
from labellight.db.models import Image, Project
from labellight.db.session import session_scope
from labellight.ingest.archive import ArchiveRejected, is_archive, iter_archive
from labellight.ingest.decode import ImageRejected, decode_image
from labellight.ingest.hashing import sha256_hex
from labellight.ingest.limits import IngestLimits
from labellight.ingest.names import member_display_name
from labellight.ingest.pixels import PixelCache, to_cache_pixels
from labellight.ingest.thumbnail import make_thumbnail
from labellight.jobs.context import JobContext, JobFailed
from labellight.jobs.payloads import IngestParams
from labellight.services.embedding import queue_features_for_new_images
from labellight.services.errors import InvalidInput
from labellight.services.ingest_labels import FolderLabels
from labellight.storage import get_storage
from labellight.storage.keys import (
    original_key,
    pixel_cache_key,
    project_prefix,
    thumbnail_key,
    upload_prefix,
)

MAX_REPORTED_FILES = 10_000
DUPLICATE = "same content as an image already in the project"
APPEND_CHUNK_BYTES = 16 * 2**20
"""Pixel rows held in memory before they are appended to the cache (~110 rows at 224 px)."""
# Hashes per IN (...) query: well under SQLite's and PostgreSQL's limits on bound parameters.
_HASHES_PER_QUERY = 500


def ingest_limits() -> IngestLimits:
    s = get_settings()
    return IngestLimits(max_pixels=s.max_image_pixels, max_file_bytes=s.max_file_bytes,
                        max_archive_entries=s.max_archive_entries, max_archive_bytes=s.max_archive_bytes)


@dataclass
class _Accepted:
    row: Image
    entry: dict[str, Any] | None
    """Its line in the report (None past ``MAX_REPORTED_FILES``)."""


@dataclass
class _Batch:
    """Everything one ingest run produces before it is committed."""

    known: set[str]
    room: int
    """Images the owner's projects may still take in (LABELLIGHT_MAX_IMAGES_PER_USER)."""
    bytes_left: int
    """Bytes of images this import may still bring in (LABELLIGHT_MAX_INGEST_BYTES)."""
    accepted: list[_Accepted] = field(default_factory=list)
    pending: list[np.ndarray] = field(default_factory=list)
    """Pixels of the last ``len(pending)`` accepted images, not yet appended to the cache."""
    written: set[str] = field(default_factory=set)
    """Hashes whose original and thumbnail this run wrote."""
    report: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {"accepted": 0, "duplicate": 0, "rejected": 0})
    labels: FolderLabels = field(default_factory=FolderLabels)
    """Classes read from the folders the images lay in."""

    def note(self, name: str, status: str, reason: str | None = None) -> dict[str, Any] | None:
        self.counts[status] += 1
        if len(self.report) >= MAX_REPORTED_FILES:
            return None
        self.report.append({"name": name, "status": status, **({"reason": reason} if reason else {})})
        return self.report[-1]

    def full(self) -> str | None:
        """Why nothing more can come in, or None while there is room."""
        settings = get_settings()
        if len(self.accepted) >= self.room:
            return (f"the projects of this account hold the most images allowed "
                    f"(LABELLIGHT_MAX_IMAGES_PER_USER={settings.max_images_per_user}): delete some first")
        if self.bytes_left <= 0:
            return (f"this import used up its budget of {settings.max_ingest_bytes} bytes "
                    "(LABELLIGHT_MAX_INGEST_BYTES): upload the rest in another import")
        return None

    def demote(self, accepted: _Accepted) -> None:
        """An accepted file turned out to be a duplicate after all."""
        self.counts["accepted"] -= 1
        self.counts["duplicate"] += 1
        if accepted.entry is not None:
            accepted.entry.update(status="duplicate", reason=DUPLICATE)


def run_ingest(ctx: JobContext[IngestParams]) -> dict[str, Any]:
    files = [f.model_dump() for f in ctx.params.files]
    with session_scope() as session:
        project = session.get(Project, ctx.project_id)
        if project is None:
            raise JobFailed("the project was deleted")
        size = project.image_size
    storage = get_storage()
    cache = PixelCache(storage.path(pixel_cache_key(ctx.project_id)), size)
    with cache.lock():
        batch = _ingest_locked(ctx, cache, files)
    storage.delete_tree(upload_prefix(ctx.project_id, ctx.job_id))
    if batch.accepted:
        queue_features_for_new_images(ctx.project_id)
    for accepted in batch.accepted:
        if accepted.entry is not None:
            accepted.entry["image_id"] = accepted.row.id
    return {**batch.counts, **batch.labels.result(), "files": batch.report}


def _ingest_locked(ctx: JobContext[IngestParams], cache: PixelCache, files: list[dict[str, str]]) -> _Batch:
    """The whole ingest, run while holding the cache lock: read what is committed, add, commit or undo."""
    storage = get_storage()
    with session_scope() as session:
        committed = _committed_state(session, ctx.project_id)
    if committed is None:
        _remove_project_files(ctx.project_id)
        raise JobFailed("the project was deleted")
    committed_rows, known = committed
    # Rows past the committed ones (a run killed between its append and its commit, an image deleted
    # since) stay: a pretrain or embed job may still map them, and cutting a mapped file kills it (SIGBUS).
    first_free = cache.count
    if first_free < committed_rows:
        raise JobFailed(f"the pixel cache holds {first_free} rows but the project's images use {committed_rows}")
    settings = get_settings()
    with session_scope() as session:
        held = _images_of_owner(session, ctx.project_id)
    batch = _Batch(known=known, room=max(settings.max_images_per_user - held, 0), bytes_left=settings.max_ingest_bytes)
    try:
        for position, staged in enumerate(files):
            if (full := batch.full()) is not None:  # the rest is not even read
                batch.note(staged["name"], "rejected", full)
                continue
            for name, path, data, rejection in _members(staged, storage.path(staged["key"])):
                ctx.report("ingest", position / max(len(files), 1), files_done=position, files=len(files))
                placed = _ingest_one(ctx.project_id, cache.size, batch, name, data, rejection)
                if placed is not None:
                    # Each archive is a tree of its own; plain files (a picked folder) together are one.
                    group = "files" if path is None else str(position)
                    batch.labels.place(group, path or staged.get("path") or name, *placed)
                if len(batch.pending) * cache.row_bytes >= APPEND_CHUNK_BYTES:
                    _append_pending(cache, batch)
        batch.labels.read_tree()
        _commit(ctx, cache, batch)
    except BaseException:
        _undo(ctx.project_id, cache, first_free, batch)
        raise
    return batch


def _images_of_owner(session: Session, project_id: int) -> int:
    """Images in all the projects of this project's owner."""
    owner = select(Project.owner_id).where(Project.id == project_id).scalar_subquery()
    return int(session.scalar(select(func.count(Image.id)).join(Project, Project.id == Image.project_id)
                              .where(Project.owner_id == owner)) or 0)


def _committed_state(session: Session, project_id: int) -> tuple[int, set[str]] | None:
    """The cache rows the project's images use and their hashes; None when the project is gone."""
    if session.get(Project, project_id) is None:
        return None
    rows = session.scalar(select(func.coalesce(func.max(Image.cache_row) + 1, 0)).where(Image.project_id == project_id))
    known = set(session.scalars(select(Image.sha256).where(Image.project_id == project_id)))
    return int(rows or 0), known


def _members(staged: dict[str, str], path: Path) -> Iterator[tuple[str, str | None, bytes | None, str | None]]:
    """(name, path inside the archive, bytes, rejection) for a plain file (no path inside an archive) or for
    each entry of an archive."""
    name = staged["name"]
    with path.open("rb") as f:
        head = f.read(512)
    if not is_archive(name, head):
        limit = get_settings().max_file_bytes
        if path.stat().st_size > limit:
            yield name, None, None, f"file too large: over {limit} bytes"
            return
        yield name, None, path.read_bytes(), None
        return
    try:
        for member in iter_archive(path, ingest_limits()):
            inside = member_display_name(member.name)
            yield f"{name}/{inside}", inside, member.data, member.rejection
    except ArchiveRejected as exc:
        yield name, None, None, f"archive not usable: {exc.reason}"


def _ingest_one(project_id: int, size: int, batch: _Batch, name: str, data: bytes | None,
                rejection: str | None) -> tuple[str, dict[str, Any] | None] | None:
    """Take in one file; for an image now in the project (new or a duplicate), its hash and report line."""
    if data is None:
        batch.note(name, "rejected", rejection or "unreadable entry")
        return None
    sha = sha256_hex(data)
    if sha in batch.known:
        return sha, batch.note(name, "duplicate", DUPLICATE)
    if (full := batch.full()) is not None:
        batch.note(name, "rejected", full)
        return None
    if len(data) > batch.bytes_left:
        batch.note(name, "rejected", f"{len(data)} bytes would take this import past its budget "
                   f"(LABELLIGHT_MAX_INGEST_BYTES={get_settings().max_ingest_bytes}): upload it in another import")
        return None
    batch.bytes_left -= len(data)
    try:
        decoded = decode_image(data, ingest_limits())
    except ImageRejected as exc:
        batch.note(name, "rejected", exc.reason)
        return None
    storage = get_storage()
    batch.written.add(sha)
    storage.put_bytes(original_key(project_id, sha), data)
    storage.put_bytes(thumbnail_key(project_id, sha), make_thumbnail(decoded.image))
    batch.known.add(sha)
    row = Image(project_id=project_id, sha256=sha, filename=name.rsplit("/", 1)[-1][:255],
                format=decoded.format, width=decoded.width, height=decoded.height, cache_row=-1)
    entry = batch.note(name, "accepted")
    batch.accepted.append(_Accepted(row, entry))
    batch.pending.append(to_cache_pixels(decoded.image, size))
    return sha, entry


def _append_pending(cache: PixelCache, batch: _Batch) -> None:
    """Append the held pixel rows to the cache and note each image's row; nothing is committed yet."""
    if not batch.pending:
        return
    first = cache.append(np.stack(batch.pending))
    for offset, accepted in enumerate(batch.accepted[len(batch.accepted) - len(batch.pending):]):
        accepted.row.cache_row = first + offset
    batch.pending.clear()


def _commit(ctx: JobContext[IngestParams], cache: PixelCache, batch: _Batch) -> None:
    """Append the last pixels, then insert every image row in one transaction, only while the job may
    still commit."""
    _append_pending(cache, batch)
    with session_scope() as session:
        ctx.confirm_commit(session)
        # Only a writer outside the cache lock could have added one of these meanwhile; it stays the copy
        # (the pixel row appended for ours stays unused).
        present = _committed_among(session, ctx.project_id, (a.row.sha256 for a in batch.accepted))
        for accepted in [a for a in batch.accepted if a.row.sha256 in present]:
            batch.demote(accepted)
        batch.accepted = [a for a in batch.accepted if a.row.sha256 not in present]
        if batch.accepted:
            session.add_all(a.row for a in batch.accepted)
            session.flush()
        try:
            batch.labels.apply(session, ctx.project_id, {a.row.sha256: a.row for a in batch.accepted})
        except InvalidInput as exc:
            raise JobFailed(f"the class folders cannot become classes, so nothing was imported: {exc}") from None


def _undo(project_id: int, cache: PixelCache, first_free: int, batch: _Batch) -> None:
    """Take back what a run that did not commit wrote: the cache rows it appended, chunk by chunk (from
    ``first_free`` on; no reader maps those) and the files no committed row refers to. What the database
    holds decides, so a commit that went through before an error keeps its rows and files. A project
    deleted meanwhile loses every file this run (re)created."""
    with session_scope() as session:
        committed = _committed_state(session, project_id)
    if committed is None:
        _remove_project_files(project_id)
        return
    committed_rows, known = committed
    cache.truncate(max(first_free, min(committed_rows, cache.count)))
    storage = get_storage()
    for sha in batch.written - known:
        storage.delete(original_key(project_id, sha))
        storage.delete(thumbnail_key(project_id, sha))


def _remove_project_files(project_id: int) -> None:
    """Files of a deleted project that a job wrote after the project's storage was removed. Ids are never
    reused, so nothing here can belong to another project."""
    get_storage().delete_tree(project_prefix(project_id))


def _committed_among(session: Session, project_id: int, hashes: Iterable[str]) -> set[str]:
    """Which of ``hashes`` committed images of the project have."""
    wanted = list(hashes)
    found: set[str] = set()
    for start in range(0, len(wanted), _HASHES_PER_QUERY):
        chunk = wanted[start:start + _HASHES_PER_QUERY]
        found.update(session.scalars(
            select(Image.sha256).where(Image.project_id == project_id, Image.sha256.in_(chunk))
        ))
    return found
