"""The ingest job: validate, de-duplicate, store, thumbnail and cache every staged file, all or nothing."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select

from labellight.config import get_settings
from labellight.db.models import Image, Project
from labellight.db.session import session_scope
from labellight.ingest.archive import ArchiveRejected, is_archive, iter_archive
from labellight.ingest.decode import ImageRejected, decode_image
from labellight.ingest.hashing import sha256_hex
from labellight.ingest.limits import IngestLimits
from labellight.ingest.pixels import PixelCache, to_cache_pixels
from labellight.ingest.thumbnail import make_thumbnail
from labellight.services.embedding import queue_features_for_new_images
from labellight.services.job_context import JobContext, JobFailed
from labellight.storage import get_storage
from labellight.storage.keys import original_key, pixel_cache_key, thumbnail_key, upload_prefix

MAX_REPORTED_FILES = 10_000


def ingest_limits() -> IngestLimits:
    s = get_settings()
    return IngestLimits(max_pixels=s.max_image_pixels, max_file_bytes=s.max_file_bytes,
                        max_archive_entries=s.max_archive_entries, max_archive_bytes=s.max_archive_bytes)


@dataclass
class _Batch:
    """Everything one ingest run produces before it is committed."""

    known: set[str]
    rows: list[Image] = field(default_factory=list)
    pixels: list[np.ndarray] = field(default_factory=list)
    written_keys: list[str] = field(default_factory=list)
    report: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {"accepted": 0, "duplicate": 0, "rejected": 0})

    def note(self, name: str, status: str, reason: str | None = None) -> None:
        self.counts[status] += 1
        if len(self.report) < MAX_REPORTED_FILES:
            self.report.append({"name": name, "status": status, **({"reason": reason} if reason else {})})


def run_ingest(ctx: JobContext) -> dict[str, Any]:
    files: list[dict[str, str]] = ctx.params.get("files", [])
    with session_scope() as session:
        project = session.get(Project, ctx.project_id)
        if project is None:
            raise JobFailed("the project was deleted")
        size = project.image_size
        committed_rows = session.scalar(
            select(func.coalesce(func.max(Image.cache_row) + 1, 0)).where(Image.project_id == project.id)
        )
        known = set(session.scalars(select(Image.sha256).where(Image.project_id == project.id)))
    storage = get_storage()
    cache = PixelCache(storage.path(pixel_cache_key(ctx.project_id)), size)
    batch = _Batch(known=known)
    with cache.lock():
        # Rows past the committed ones belong to a run that died before its commit.
        cache.truncate(int(committed_rows or 0))
        try:
            for position, staged in enumerate(files):
                ctx.report("ingest", position / max(len(files), 1), files_done=position, files=len(files))
                for name, data, rejection in _members(staged["name"], storage.path(staged["key"])):
                    _ingest_one(ctx.project_id, size, batch, name, data, rejection)
            _commit(ctx.project_id, cache, batch)
        except BaseException:
            cache.truncate(int(committed_rows or 0))
            for key in batch.written_keys:
                storage.delete(key)
            raise
    storage.delete_tree(upload_prefix(ctx.project_id, ctx.job_id))
    if batch.rows:
        queue_features_for_new_images(ctx.project_id)
    report = [dict(entry) for entry in batch.report]
    for entry, row in zip((e for e in report if e["status"] == "accepted"), batch.rows, strict=False):
        entry["image_id"] = row.id
    return {**batch.counts, "files": report}


def _members(name: str, path: Path) -> Iterator[tuple[str, bytes | None, str | None]]:
    """(name, bytes, rejection) for a plain file or for each entry of an archive."""
    with path.open("rb") as f:
        head = f.read(512)
    if not is_archive(name, head):
        limit = get_settings().max_file_bytes
        if path.stat().st_size > limit:
            yield name, None, f"file too large: over {limit} bytes"
            return
        yield name, path.read_bytes(), None
        return
    try:
        for member in iter_archive(path, ingest_limits()):
            yield f"{name}/{member.name}", member.data, member.rejection
    except ArchiveRejected as exc:
        yield name, None, f"archive not usable: {exc.reason}"


def _ingest_one(project_id: int, size: int, batch: _Batch, name: str, data: bytes | None,
                rejection: str | None) -> None:
    if data is None:
        batch.note(name, "rejected", rejection or "unreadable entry")
        return
    sha = sha256_hex(data)
    if sha in batch.known:
        batch.note(name, "duplicate", "same content as an image already in the project")
        return
    try:
        decoded = decode_image(data, ingest_limits())
    except ImageRejected as exc:
        batch.note(name, "rejected", exc.reason)
        return
    storage = get_storage()
    for key, payload in ((original_key(project_id, sha), data),
                         (thumbnail_key(project_id, sha), make_thumbnail(decoded.image))):
        storage.put_bytes(key, payload)
        batch.written_keys.append(key)
    batch.known.add(sha)
    batch.pixels.append(to_cache_pixels(decoded.image, size))
    batch.rows.append(Image(project_id=project_id, sha256=sha, filename=name.rsplit("/", 1)[-1][:255],
                            format=decoded.format, width=decoded.width, height=decoded.height, cache_row=-1))
    batch.note(name, "accepted")


def _commit(project_id: int, cache: PixelCache, batch: _Batch) -> None:
    if batch.rows:
        first = cache.append(np.stack(batch.pixels))
        for offset, row in enumerate(batch.rows):
            row.cache_row = first + offset
    with session_scope() as session:
        session.add_all(batch.rows)
        session.flush()
