"""Streaming ingest, in one process on a real SQLite database and storage: the pixel rows of an upload
go to the cache in chunks, so an ingest's peak memory does not grow with its size, and a cancel after
chunks were appended leaves no image rows, no files and no cache growth."""

import io
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from labellight.db.migrations import upgrade_to_head
from labellight.db.models import Image, Job, User
from labellight.db.session import session_scope
from labellight.ingest.pixels import PixelCache
from labellight.jobs import rows as job_rows
from labellight.jobs.context import JobCancelled, JobContext
from labellight.jobs.payloads import IngestParams
from labellight.services import ingestion
from labellight.services.accounts import create_user
from labellight.services.job_handlers import run_queued
from labellight.services.projects import create_project
from labellight.services.uploads import IncomingFile, start_ingest
from labellight.storage import get_storage
from labellight.storage.keys import pixel_cache_key, project_prefix
from tests.app_caches import clear_app_caches
from tests.synthetic_images import encode, noise_image, zip_of

SIDE = 160  # cache rows of 76.8 kB: the pixels outweigh everything else an accepted image costs
CHUNK = 2 * 2**20



@pytest.fixture
def owner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[User]:
    """A migrated SQLite database and storage under ``tmp_path`` and a user; pixel chunks of 2 MB."""
    for name in [k for k in os.environ if k.startswith("LABELLIGHT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LABELLIGHT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LABELLIGHT_PRETRAINED", "false")  # no embed job is run here; keep the start light
    monkeypatch.setenv("LABELLIGHT_CACHE_IMAGE_SIZE", str(SIDE))
    monkeypatch.setattr(ingestion, "APPEND_CHUNK_BYTES", CHUNK)
    clear_app_caches()
    try:
        upgrade_to_head()
        with session_scope() as session:
            user = create_user(session, "stream@example.com", "correct horse 1")
        yield user
    finally:
        clear_app_caches()


def _archive(n: int, seed: int) -> bytes:
    return zip_of([(f"{seed}-{i}.png", encode(noise_image(size=40, seed=seed * 100_000 + i))) for i in range(n)])


def _queued_ingest(user: User, name: str, archive: bytes) -> tuple[int, int]:
    with session_scope() as session:
        pid = create_project(session, user, name).id
        job = start_ingest(session, user, pid, [IncomingFile("a.zip", io.BytesIO(archive))])
        return pid, job.id


def _peak_of_ingest(user: User, n: int, seed: int) -> int:
    """Peak bytes Python and numpy allocate while an ingest of ``n`` images runs (PIL's are not seen)."""
    pid, job_id = _queued_ingest(user, f"P{n}", _archive(n, seed))
    tracemalloc.start()
    try:
        assert run_queued(job_id) == "succeeded"
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    with session_scope() as session:
        assert session.scalar(select(func.count(Image.id)).where(Image.project_id == pid)) == n
        rows = sorted(session.scalars(select(Image.cache_row).where(Image.project_id == pid)))
    assert rows == list(range(n))  # every accepted image has its own row, in order
    assert PixelCache(get_storage().path(pixel_cache_key(pid)), SIDE).count == n
    return peak


def test_peak_memory_of_an_ingest_does_not_grow_with_its_size(owner: User) -> None:
    small = _peak_of_ingest(owner, 60, seed=1)
    large = _peak_of_ingest(owner, 240, seed=2)
    # Holding every row until the commit costs 180 x 76.8 kB = 13.8 MB more for the large upload
    # (and 2 copies of it at the stack); streamed, both peak around one 2 MB chunk and its stacked copy.
    assert large - small < 4 * 2**20, f"peak {small / 2**20:.1f} MB at 60 images, {large / 2**20:.1f} MB at 240"


class _CancelMidway(JobContext[IngestParams]):
    """The user cancels when the ingest reaches its 90th image."""

    reports = 0

    def report(self, stage: str, fraction: float, *, force: bool = False, **metrics: Any) -> None:
        self.reports += stage == "ingest"
        if self.reports == 90:
            with session_scope() as session:
                job = session.get(Job, self.job_id)
                assert job is not None
                job_rows.request_cancel(session, job)
            force = True
        super().report(stage, fraction, force=force, **metrics)


def test_a_cancel_after_chunks_were_appended_leaves_no_rows_files_or_cache_growth(owner: User) -> None:
    pid, job_id = _queued_ingest(owner, "kept", _archive(20, seed=3))
    assert run_queued(job_id) == "succeeded"
    cache = PixelCache(get_storage().path(pixel_cache_key(pid)), SIDE)
    with session_scope() as session:
        job_id = start_ingest(session, owner, pid, [IncomingFile("b.zip", io.BytesIO(_archive(120, seed=4)))]).id
        assert job_rows.claim_job(session, job_id, lease_seconds=600)
        job = session.get(Job, job_id)
        assert job is not None
        params = IngestParams.model_validate(job.params)
    appended: list[int] = []
    append = ingestion._append_pending

    def spy(cache_: PixelCache, batch: Any) -> None:
        append(cache_, batch)
        appended.append(cache_.count)

    files_before = sorted(p.name for p in get_storage().path(project_prefix(pid)).rglob("*") if p.is_file())
    ctx = _CancelMidway(job_id, pid, params, attempt=1, min_interval_s=3600)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ingestion, "_append_pending", spy)
        with pytest.raises(JobCancelled):
            ingestion.run_ingest(ctx)
    assert appended  # chunks did reach the cache before the cancel
    assert max(appended) > 20
    assert cache.count == 20
    with session_scope() as session:
        assert session.scalar(select(func.count(Image.id)).where(Image.project_id == pid)) == 20
    files_after = sorted(p.name for p in get_storage().path(project_prefix(pid)).rglob("*") if p.is_file())
    assert [f for f in files_after if f not in files_before and "upload" not in f] == []
