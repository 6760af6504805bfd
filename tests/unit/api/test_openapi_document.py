"""The OpenAPI document that the SPA's API types are generated from, and the schemas it publishes."""

import json
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from labellight.api.job_schemas import JobPublic
from labellight.api.schemas import ClassifierPublic, SuggestionPublic
from labellight.cli import main, openapi_document
from labellight.jobs.routes import JobKind, JobState

COMMITTED = Path(__file__).resolve().parents[3] / "frontend" / "openapi.json"


@pytest.fixture(scope="module")
def document_text() -> str:
    return openapi_document()


def test_the_document_is_stable_text_with_sorted_keys(document_text: str) -> None:
    assert openapi_document() == document_text
    document = json.loads(document_text)
    assert json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n" == document_text
    assert "/api/v1/projects/{project_id}/images" in document["paths"]
    assert all(path.startswith("/api/v1/") for path in document["paths"])  # the SPA's routes are not in it


def test_the_committed_document_is_current(document_text: str) -> None:
    assert COMMITTED.read_text(encoding="utf-8") == document_text, (
        "frontend/openapi.json is out of date: run `make api-types` and commit the result")


def test_the_cli_writes_the_document(tmp_path: Path, document_text: str) -> None:
    out = tmp_path / "new" / "openapi.json"
    main(["openapi", "--out", str(out)])
    assert out.read_text(encoding="utf-8") == document_text


def test_every_job_kind_has_its_schema_and_state_is_an_enum_of_every_value(document_text: str) -> None:
    schemas = json.loads(document_text)["components"]["schemas"]
    assert set(schemas["JobPublic"]["discriminator"]["mapping"]) == {k.value for k in JobKind}
    assert schemas["JobState"]["enum"] == [s.value for s in JobState]
    progress = schemas["JobProgress"]
    assert set(progress["required"]) == {"stage", "fraction"}
    assert progress["additionalProperties"] is True
    assert progress["properties"]["loss_history"]["items"]["prefixItems"] == [{"type": "integer"}, {"type": "number"}]


def _job(progress: dict[str, object]) -> SimpleNamespace:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    return SimpleNamespace(id=1, project_id=2, kind="pretrain", state="running", progress=progress, result=None,
                           error=None, attempts=1, created_at=now, started_at=now, finished_at=None)


def test_job_progress_sends_only_the_reported_keys() -> None:
    reported = {"stage": "pretrain", "fraction": 0.5, "loss": None, "loss_history": [[10, 1.5]], "run": 2}
    sent = json.loads(JobPublic.model_validate(_job(reported)).model_dump_json())
    assert sent["progress"] == reported  # no nulls for unreported keys; a null loss and unknown keys stay
    assert (sent["kind"], sent["state"]) == ("pretrain", "running")


def test_unknown_job_kinds_and_malformed_progress_are_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        JobPublic.model_validate({**vars(_job({"stage": "x", "fraction": 0.0})), "kind": "dance"})
    with pytest.raises(ValueError, match="fraction"):
        JobPublic.model_validate(_job({"stage": "x"}))


def test_suggestion_reasons_keep_their_scores_and_reports_their_lists() -> None:
    image = {"id": 1, "filename": "a.png", "width": 2, "height": 2, "class_id": None,
             "thumbnail_url": "/t", "file_url": "/f"}
    reason = {"strategy": "probcover", "delta": 0.25, "ball_gain": 3}
    suggestion = SuggestionPublic.model_validate({"image": image, "reason": reason})
    assert suggestion.model_dump(mode="json")["reason"] == reason
    report = {"accuracy": 0.5, "classes": [1, 2], "precision": [0.5, 0.5], "recall": [1.0, 0.0],
              "support": [1, 1], "confusion": [[1, 0], [1, 0]]}
    info = ClassifierPublic.model_validate({"version": 1, "cv_accuracy": 0.5, "n_labels": 2, "n_folds": 2,
                                            "classes": [], "metrics": report, "created_at": datetime.now(UTC)})
    assert info.model_dump(mode="json")["metrics"] == report
