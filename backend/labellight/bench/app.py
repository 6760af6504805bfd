"""A throw-away LabelLight inside the benchmark's process: its own data folder and SQLite database, a
project holding the train images, a BYOL backbone with a time budget, and the test images embedded.

Jobs are run synchronously with :func:`run_queued` (the runner with the job kind's handler, as a worker runs
them): the messages the services put on the embedded file broker are never consumed (the broker lives in the
temporary data folder).
"""

from __future__ import annotations

import os
import secrets
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from labellight.bench.data import BenchData, LabeledFile, file_sha256
from labellight.config import get_settings
from labellight.db import projects as project_rows
from labellight.db.models import Backbone, Image, Job, Project, User
from labellight.db.session import get_engine, get_sessionmaker, session_scope
from labellight.ingest.pixels import PixelCache
from labellight.jobs.routes import JobKind, JobState
from labellight.jobs.transport import get_producer
from labellight.ml.embed import embed
from labellight.services.accounts import create_user
from labellight.services.job_handlers import run_queued
from labellight.services.model_store import backbone_module, embeddings
from labellight.services.pretrained_start import FROZEN_START
from labellight.services.pretraining import start_pretrain
from labellight.services.projects import add_class, create_project
from labellight.services.queries import query_pixels
from labellight.services.uploads import IncomingFile, start_ingest
from labellight.storage import get_storage
from labellight.storage.keys import pixel_cache_key

# The app's own classifier versions come from the benchmark's explicit train jobs, one per round.
_APP_ENV = {"LABELLIGHT_AUTO_TRAIN_EVERY": "0", "LABELLIGHT_DATABASE_URL": "", "LABELLIGHT_BROKER_URL": ""}
_TEST_CHUNK = 256


class BenchJobFailed(RuntimeError):
    """A job of the pipeline did not succeed; the message carries the job's error."""


def _clear_caches() -> None:
    for cached in (get_settings, get_engine, get_sessionmaker, get_producer):
        cached.cache_clear()


@contextmanager
def isolated_app(data_dir: Path) -> Iterator[None]:
    """Point the settings at ``data_dir``, create the schema, and restore the environment afterwards."""
    from labellight.db.migrations import upgrade_to_head

    env = {"LABELLIGHT_DATA_DIR": str(data_dir), **_APP_ENV}
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    _clear_caches()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        upgrade_to_head()
        yield
    finally:
        get_engine().dispose()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _clear_caches()


@dataclass(frozen=True)
class BenchProject:
    """The project under test. ``truth``: hidden class id of each train image id; ``test_y``: class ids."""

    user: User
    project_id: int
    class_ids: dict[str, int]
    truth: dict[int, int]
    test_files: list[LabeledFile]

    @property
    def train_ids(self) -> np.ndarray:
        return np.array(sorted(self.truth), dtype=np.int64)

    @property
    def test_y(self) -> np.ndarray:
        return np.array([self.class_ids[f.label] for f in self.test_files], dtype=np.int64)


def finish(job_id: int) -> dict[str, Any]:
    """Run a queued job to its end; its result, or :class:`BenchJobFailed`."""
    state = run_queued(job_id)
    with session_scope() as session:
        job = session.get(Job, job_id)
        if state != JobState.SUCCEEDED.value or job is None:
            raise BenchJobFailed(f"job {job_id} ended {state}: {job.error if job else 'gone'}")
        return dict(job.result or {})


def create_bench_project(data: BenchData, work_dir: Path) -> BenchProject:
    """A user, a project with the data's classes, and the train images ingested through one archive."""
    with session_scope() as session:
        user = create_user(session, "bench@labellight.example", secrets.token_urlsafe(16))
        project = create_project(session, user, f"bench {data.name}"[:200])
        class_ids = {name: add_class(session, user, project.id, name).id for name in data.classes}
        project_id = project.id
    archive = _train_archive(data.train, work_dir / "train.tar")
    with session_scope() as session, archive.open("rb") as stream:
        job = start_ingest(session, user, project_id, [IncomingFile(archive.name, stream)])
    finish(job.id)
    archive.unlink()
    return BenchProject(user, project_id, class_ids, _truth(project_id, data.train, class_ids), data.test)


def _train_archive(files: list[LabeledFile], path: Path) -> Path:
    """One uncompressed tar of the train images, named by position so that no name reveals a class."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as archive:
        for position, item in enumerate(files):
            archive.add(item.path, arcname=f"{position:07d}{item.path.suffix.lower()}")
    return path


def _truth(project_id: int, files: list[LabeledFile], class_ids: dict[str, int]) -> dict[int, int]:
    by_sha: dict[str, int] = {}
    for item in files:
        # Identical files under two classes: the app keeps one image; its first label stands.
        by_sha.setdefault(file_sha256(item.path), class_ids[item.label])
    with session_scope() as session:
        rows = session.execute(select(Image.id, Image.sha256).where(Image.project_id == project_id)).all()
    return {int(r.id): by_sha[r.sha256] for r in rows if r.sha256 in by_sha}


def train_pixels(project: BenchProject, image_ids: np.ndarray) -> np.ndarray:
    """uint8 (N, S, S, 3) rows of the project's pixel cache for ``image_ids``."""
    with session_scope() as session:
        rows = dict(session.execute(select(Image.id, Image.cache_row).where(Image.project_id == project.project_id))
                    .tuples().all())
        size = _project(session, project.project_id).image_size
    cache = PixelCache(get_storage().path(pixel_cache_key(project.project_id)), size).read()
    return np.asarray(cache[np.array([rows[int(i)] for i in image_ids], dtype=np.int64)])


def load_test_pixels(project: BenchProject) -> np.ndarray:
    """The test images decoded and resized exactly like uploaded query images."""
    with session_scope() as session:
        size = _project(session, project.project_id).image_size
    chunks = []
    for start in range(0, len(project.test_files), _TEST_CHUNK):
        part = project.test_files[start:start + _TEST_CHUNK]
        chunks.append(query_pixels([(f.path.name, f.path.read_bytes()) for f in part], size))
    return np.concatenate(chunks)


def _project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise BenchJobFailed(f"project {project_id} is gone")
    return project


def pretrain_and_embed(project: BenchProject, budget_s: float) -> dict[str, Any] | None:
    """The pretrain job with a time budget (it plans its epochs from a measured step time of the
    configuration it runs, as for a user), then the embed jobs queued (the frozen start's after the upload,
    the pretrained backbone's); the pretrain job's result. ``budget_s`` 0: no pretraining, the project's
    features are the frozen pretrained start a user has minutes after the upload (None is returned)."""
    result = None
    if budget_s > 0:
        with session_scope() as session:
            job = start_pretrain(session, project.user, project.project_id, {"time_budget_s": budget_s})
        result = finish(job.id)
    with session_scope() as session:
        embed_jobs = list(session.scalars(select(Job.id).where(
            Job.project_id == project.project_id, Job.kind == JobKind.EMBED.value,
            Job.state == JobState.QUEUED.value).order_by(Job.id)))
    for job_id in embed_jobs:
        finish(job_id)
    return result


def frozen_backbone(project: BenchProject) -> Backbone | None:
    """The project's frozen pretrained start (the ImageNet network as it is), None when the server starts
    projects from scratch."""
    with session_scope() as session:
        rows = session.scalars(select(Backbone).where(Backbone.project_id == project.project_id)
                               .order_by(Backbone.version)).all()
        frozen = [row for row in rows if row.config.get("start") == FROZEN_START]
        return frozen[0] if frozen else None


def current_backbone(project: BenchProject) -> Backbone:
    with session_scope() as session:
        backbone = project_rows.current_backbone(session, project.project_id)
    if backbone is None:
        raise BenchJobFailed("the project has no embedded backbone: pretrain (--pretrain-minutes > 0) when the server "
                             "starts projects from scratch (LABELLIGHT_PRETRAINED false)")
    return backbone


def embed_test(backbone: Backbone, pixels: np.ndarray) -> np.ndarray:
    """Test embeddings with the project's backbone, as the prediction endpoint computes them."""
    return embed(backbone_module(backbone), pixels, int(backbone.config["image_size"]))


def stored_vectors(backbone: Backbone, image_ids: np.ndarray) -> np.ndarray:
    """The embed job's stored embeddings of ``image_ids`` (in that order) under ``backbone``."""
    stored = embeddings(backbone)
    order = np.argsort(stored.ids)
    rows = order[np.searchsorted(stored.ids, image_ids, sorter=order)]
    if not np.array_equal(stored.ids[rows], image_ids):
        raise BenchJobFailed(f"backbone {backbone.id} has no embedding of some of the images asked for")
    vectors: np.ndarray = stored.vectors[rows]
    return vectors
