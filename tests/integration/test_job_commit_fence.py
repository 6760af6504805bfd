"""Item 8 of the trust issue (QUALITY J5, J7), in one process on a real SQLite database and storage: a
cancel that arrives after the last training step but before the job ships its result wins, and a resumed
job never publishes less progress than it already had."""

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from labellight.db.migrations import upgrade_to_head
from labellight.db.models import Backbone, Job, User
from labellight.db.session import session_scope
from labellight.jobs import rows as job_rows
from labellight.jobs.context import JobCancelled, JobContext
from labellight.jobs.payloads import PretrainParams
from labellight.jobs.routes import JobKind
from labellight.services.accounts import create_user
from labellight.services.job_handlers import run_queued
from labellight.services.pretraining import run_pretrain, start_pretrain
from labellight.services.projects import create_project
from labellight.services.uploads import IncomingFile, start_ingest
from tests.app_caches import clear_app_caches
from tests.synthetic_images import dataset, zip_of

RUN = {"epochs": 1, "batch_size": 8, "image_size": 32}



@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[User, int]]:
    """A migrated SQLite database and storage under ``tmp_path``, a user and a project of 12 ingested
    images (the ingest job run here, in this process)."""
    for name in [k for k in os.environ if k.startswith("LABELLIGHT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LABELLIGHT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LABELLIGHT_PRETRAINED", "false")  # the cancel is checked on a small scratch run
    monkeypatch.setenv("LABELLIGHT_CACHE_IMAGE_SIZE", "64")
    clear_app_caches()
    try:
        upgrade_to_head()
        with session_scope() as session:
            user = create_user(session, "fence@example.com", "correct horse 1")
            pid = create_project(session, user, "Fence").id
            archive = zip_of([(n, d) for n, _, d in dataset(per_class=4, seed=3)])
            ingest = start_ingest(session, user, pid, [IncomingFile("a.zip", io.BytesIO(archive))])
        assert run_queued(ingest.id) == "succeeded"
        yield user, pid
    finally:
        clear_app_caches()


class _CancelAfterTheLastStep(JobContext[PretrainParams]):
    """The user's cancel lands right after the last training step, after the loop's last cancel check."""

    def report(self, stage: str, fraction: float, *, force: bool = False, **metrics: Any) -> None:
        super().report(stage, fraction, force=force, **metrics)
        if stage == "pretrain" and fraction >= 1.0:
            with session_scope() as session:
                job = session.get(Job, self.job_id)
                assert job is not None
                job_rows.request_cancel(session, job)


# ml/quality.py hands torch the read-only pixel cache; harmless there (it only reads), not this test's subject.
@pytest.mark.filterwarnings("ignore:The given NumPy array is not writable:UserWarning")
def test_j5_a_cancel_after_the_last_pretrain_step_ships_no_backbone(project: tuple[User, int]) -> None:
    user, pid = project
    with session_scope() as session:
        job_id = start_pretrain(session, user, pid, RUN).id
        assert job_rows.claim_job(session, job_id, lease_seconds=600)
    # An hour between database reads: the training loop never sees the cancel, only the commit can.
    ctx = _CancelAfterTheLastStep(job_id, pid, PretrainParams.model_validate(RUN), attempt=1, min_interval_s=3600)

    with pytest.raises(JobCancelled):
        run_pretrain(ctx)

    with session_scope() as session:
        assert session.scalar(select(func.count(Backbone.id)).where(Backbone.project_id == pid)) == 0
        assert session.scalar(select(func.count(Job.id)).where(Job.kind == "embed")) == 0


def test_j7_a_resumed_job_never_publishes_less_progress_than_it_had(project: tuple[User, int]) -> None:
    user, _ = project
    with session_scope() as session:
        empty = create_project(session, user, "Emptied").id
        job = job_rows.create_job(session, empty, JobKind.PRETRAIN, RUN)
        job.progress = {"stage": "pretrain", "fraction": 0.6, "epoch": 3}  # where an earlier attempt got to
    # This attempt starts over ("starting", 0.0) and fails at once: the project lost its images.
    assert run_queued(job.id) == "failed"

    with session_scope() as session:
        stored = session.get(Job, job.id)
        assert stored is not None
        assert stored.progress["fraction"] == 0.6, stored.progress
        assert stored.progress["stage"] == "failed"
