"""Job params on a real SQLite database: bad ones are refused at submit with nothing written, and a row whose
params do not fit its kind fails when it runs, with the field named (the handler never sees it)."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from labellight.db.migrations import upgrade_to_head
from labellight.db.models import Job
from labellight.db.session import session_scope
from labellight.jobs import rows as job_rows
from labellight.jobs.context import JobContext
from labellight.jobs.payloads import ExportParams, InvalidParams, PredictParams, PredictResult
from labellight.jobs.routes import JobKind
from labellight.jobs.runner import run_job
from labellight.jobs.submit import submit_job
from labellight.services.accounts import create_user
from labellight.services.projects import create_project
from tests.app_caches import clear_app_caches


@pytest.fixture
def project_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    for name in [k for k in os.environ if k.startswith("LABELLIGHT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LABELLIGHT_DATA_DIR", str(tmp_path))
    clear_app_caches()
    try:
        upgrade_to_head()
        with session_scope() as session:
            user = create_user(session, "payloads@example.com", "correct horse 1")
            pid = create_project(session, user, "Payloads").id
        yield pid
    finally:
        clear_app_caches()


def test_bad_params_are_refused_at_submit_and_nothing_is_written(project_id: int) -> None:
    with session_scope() as session, pytest.raises(InvalidParams, match="predict job params: top_k: "):
        submit_job(session, project_id, JobKind.PREDICT, {"top_k": "all"})
    with session_scope() as session:
        assert session.scalar(select(func.count(Job.id))) == 0
        job = submit_job(session, project_id, JobKind.PREDICT, {"top_k": 5})
        assert job.params == {"top_k": 5}


def test_the_handler_gets_typed_params_and_its_result_is_checked(project_id: int) -> None:
    seen: list[PredictParams] = []

    def handler(ctx: JobContext[PredictParams]) -> PredictResult:
        seen.append(ctx.params)
        return PredictResult(model_version="b1.c1", images=ctx.params.top_k)

    with session_scope() as session:
        job_id = submit_job(session, project_id, JobKind.PREDICT, {"top_k": 4}).id
    assert run_job(job_id, handler) == "succeeded"
    assert seen == [PredictParams(top_k=4)]
    with session_scope() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert job.result == {"model_version": "b1.c1", "images": 4}


def test_a_row_whose_params_do_not_fit_fails_naming_the_field(project_id: int) -> None:
    calls: list[object] = []

    def handler(ctx: JobContext[ExportParams]) -> dict[str, object]:
        calls.append(ctx.params)
        return {}

    with session_scope() as session:
        job_id = job_rows.create_job(session, project_id, JobKind.EXPORT, {"format": "gif", "classifier_id": 1}).id
    assert run_job(job_id, handler) == "failed"
    assert calls == []
    with session_scope() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert job.error is not None
        assert job.error.startswith("export job params: format: ")
        assert job.progress["stage"] == "failed"


def test_a_result_that_does_not_fit_fails_the_job(project_id: int) -> None:
    with session_scope() as session:
        job_id = submit_job(session, project_id, JobKind.EMBED, {"backbone_id": 1}).id
    assert run_job(job_id, lambda ctx: {"backbone_version": 1}) == "failed"
    with session_scope() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert job.error is not None
        assert "embed job result: images: Field required" in job.error
