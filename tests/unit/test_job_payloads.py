"""Typed job payloads: params are refused at submit with the field named, results keep what handlers report,
and rows written before a key existed still load."""

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from labellight.api.app import create_app
from labellight.api.job_schemas import JobPublic
from labellight.jobs.payloads import (
    PARAMS,
    RESULTS,
    ExportParams,
    InvalidParams,
    PretrainParams,
    params_json,
    parse_params,
    result_json,
)
from labellight.jobs.routes import JobKind
from labellight.ml.export import ExportFormat

FINETUNE_KEPT_LINEAR = {
    "kept": "linear head", "reason": "fine-tuning did not help: 0.5 against 0.6", "cv_accuracy_finetuned": 0.5,
    "cv_accuracy_linear": 0.6, "n_labels": 9, "n_folds": 3, "epochs": 2, "device": "cpu", "backbone_version": 1,
}
RESULT_OF: dict[JobKind, dict[str, Any]] = {
    JobKind.INGEST: {"accepted": 1, "duplicate": 0, "rejected": 1,
                     "files": [{"name": "a.png", "status": "accepted", "image_id": 4},
                               {"name": "b.txt", "status": "rejected", "reason": "not an image"}]},
    JobKind.PRETRAIN: {"backbone_version": 2, "epochs": 3, "final_loss": None, "device": "cpu", "processes": 1,
                       "images": 12, "resumed_from_epoch": None, "resumed_from_step": None, "start": "random",
                       "start_reason": "asked to start from random initialisation", "kept": "pretrained",
                       "reason": "no guard"},
    JobKind.EMBED: {"backbone_version": 2, "images": 12, "dim": 64},
    JobKind.TRAIN: {"classifier_version": 1, "cv_accuracy": None, "cv_scope": None, "n_labels": 4, "n_folds": 0,
                    "labels_without_embedding": 0},
    JobKind.PREDICT: {"model_version": "b1.c1", "images": 3, "skipped": 0, "formats": ["csv", "json"]},
    JobKind.EXPORT: {"format": "onnx", "filename": "labellight-p1-b1.c1.onnx", "bytes": 1234,
                     "model_version": "b1.c1", "classes": ["cat", "dog"],
                     "input": {"layout": "NCHW", "size": [64, 64], "dtype": "float32", "range": [0.0, 1.0]}},
    JobKind.FINETUNE: FINETUNE_KEPT_LINEAR,
}


def test_every_kind_has_params_and_a_result_model() -> None:
    assert set(PARAMS) == set(JobKind) == set(RESULTS) == set(RESULT_OF)


@pytest.mark.parametrize(("kind", "params", "field"), [
    (JobKind.PRETRAIN, {"epochs": "many"}, "epochs"),
    (JobKind.PRETRAIN, {"epochs": 0}, "epochs"),
    (JobKind.PRETRAIN, {"start": "yesterday"}, "start"),
    (JobKind.EXPORT, {"format": "gif", "classifier_id": 1}, "format"),
    (JobKind.EMBED, {}, "backbone_id"),
    (JobKind.PREDICT, {"top_k": 0}, "top_k"),
    (JobKind.INGEST, {"files": [{"name": "a.png"}]}, "files.0.key"),
])
def test_bad_params_are_refused_naming_the_field(kind: JobKind, params: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidParams, match=rf"{kind.value} job params: {field}: ") as raised:
        parse_params(kind, params)
    assert [".".join(map(str, e["loc"])) for e in raised.value.errors] == [f"params.{field}"]


def test_params_are_typed_and_stored_as_given() -> None:
    params = parse_params(JobKind.PRETRAIN, {"epochs": "3", "time_budget_s": 60})
    assert isinstance(params, PretrainParams)
    assert (params.epochs, params.time_budget_s, params.start, params.batch_size) == (3, 60.0, "auto", None)
    assert params_json(params) == {"epochs": 3, "time_budget_s": 60.0}  # defaults stay implicit, as before
    export = parse_params(JobKind.EXPORT, {"format": "torchscript", "classifier_id": 7})
    assert isinstance(export, ExportParams)
    assert export.format is ExportFormat.TORCHSCRIPT
    assert params_json(export) == {"format": "torchscript", "classifier_id": 7}
    # A row of an older version with a key no longer used still runs.
    old = parse_params(JobKind.TRAIN, {"automatic": True, "retired": 1})
    assert old == parse_params(JobKind.TRAIN, {"automatic": True})


@pytest.mark.parametrize("kind", list(JobKind))
def test_results_round_trip_unchanged(kind: JobKind) -> None:
    assert result_json(kind, RESULT_OF[kind]) == RESULT_OF[kind]
    assert result_json(kind, RESULTS[kind].model_validate(RESULT_OF[kind])) == RESULT_OF[kind]


def test_a_result_keeps_keys_it_does_not_name_and_refuses_a_missing_required_one() -> None:
    more = {**RESULT_OF[JobKind.PRETRAIN], "stop_reason": "time budget"}
    assert result_json(JobKind.PRETRAIN, more) == more
    with pytest.raises(ValueError, match="embed job result: dim: Field required"):
        result_json(JobKind.EMBED, {"backbone_version": 1, "images": 3})


def _row(kind: str, result: dict[str, Any] | None) -> SimpleNamespace:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    return SimpleNamespace(id=1, project_id=2, kind=kind, state="succeeded", progress={"stage": "succeeded",
                           "fraction": 1.0}, result=result, error=None, attempts=1, created_at=now, started_at=now,
                           finished_at=now)


def test_the_api_sends_each_result_as_stored_and_counts_the_ingest_report() -> None:
    for kind in JobKind:
        job = JobPublic.model_validate(_row(kind.value, RESULT_OF[kind]))
        sent = json.loads(job.model_dump_json(exclude_unset=True))
        expected = RESULT_OF[kind]
        if kind is JobKind.INGEST:
            expected = {"accepted": 1, "duplicate": 0, "rejected": 1, "files_reported": 2}
        assert sent["result"] == expected, kind


def test_rows_written_before_a_key_existed_still_load() -> None:
    old_pretrain = {"backbone_version": 1, "epochs": 5, "final_loss": 0.3}
    sent = json.loads(JobPublic.model_validate(_row("pretrain", old_pretrain)).model_dump_json(exclude_unset=True))
    assert sent["result"] == old_pretrain
    old_ingest = {"accepted": 3, "duplicate": 0, "rejected": 0}
    sent = json.loads(JobPublic.model_validate(_row("ingest", old_ingest)).model_dump_json(exclude_unset=True))
    assert sent["result"] == {**old_ingest, "files_reported": 0}


def test_the_api_answers_bad_params_with_a_422_naming_the_field() -> None:
    app = create_app()

    @app.post("/api/v1/test-submit")
    def submit() -> None:
        parse_params(JobKind.PREDICT, {"top_k": "all"})

    with TestClient(app) as client:
        answer = client.post("/api/v1/test-submit")
    assert answer.status_code == 422
    [error] = answer.json()["detail"]
    assert error["loc"] == ["params", "top_k"]
    assert "integer" in error["msg"]
