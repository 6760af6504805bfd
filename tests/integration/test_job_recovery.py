"""Pretraining survives a killed worker and a cancel: it resumes from its last checkpoint and finishes once."""

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api_client import ClientFactory, signed_up_client, wait_for, wait_job
from tests.live_app import LiveApp, live_app
from tests.synthetic_images import dataset, zip_of

# Projects start from scratch (no frozen ImageNet start) with a 64-px cache: these runs are about recovery, on a
# small fast network.
FAST_RECOVERY = {"LABELLIGHT_JOB_LEASE_SECONDS": "15", "LABELLIGHT_SWEEP_INTERVAL_SECONDS": "1",
                 "LABELLIGHT_PRETRAINED": "false", "LABELLIGHT_CACHE_IMAGE_SIZE": "64"}
LONG_RUN = {"epochs": 12, "batch_size": 8, "image_size": 32}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    with live_app(tmp_path_factory.mktemp("labellight-recovery"), FAST_RECOVERY) as live:
        yield live


def _project_with_images(client: httpx.Client) -> int:
    pid: int = client.post("/api/v1/projects", json={"name": "Recovery"}).raise_for_status().json()["id"]
    archive = zip_of([(n, d) for n, _, d in dataset(per_class=8, seed=11)])
    job = client.post(f"/api/v1/projects/{pid}/uploads", files=[("files", ("a.zip", archive))]).json()
    assert wait_job(client, job["id"])["state"] == "succeeded"
    return pid


def _checkpointed(client: httpx.Client, job_id: int, epochs: int) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}").json()
        assert job["state"] in ("queued", "running"), job
        return job if job["progress"].get("checkpoint_epoch", 0) >= epochs else None

    found: dict[str, Any] = wait_for(ready, timeout=180, interval=0.2)
    return found


def test_j1_kill_9_of_the_worker_resumes_from_the_checkpoint(app: LiveApp, http: ClientFactory) -> None:
    client = signed_up_client(http, "kill@example.com")
    pid = _project_with_images(client)
    job = client.post(f"/api/v1/projects/{pid}/pretrain", json=LONG_RUN).raise_for_status().json()
    before = _checkpointed(client, job["id"], epochs=2)

    app.stop("worker", signal.SIGKILL)
    app.start_worker()

    done = wait_job(client, job["id"], timeout=300)
    assert done["state"] == "succeeded", done
    assert done["attempts"] == 2
    assert done["result"]["resumed_from_epoch"] >= before["progress"]["checkpoint_epoch"]
    assert done["progress"]["epoch"] == LONG_RUN["epochs"]
    wait_for(lambda: client.get(f"/api/v1/projects/{pid}").json()["backbone_version"] == 1)
    kinds = [j["kind"] for j in client.get(f"/api/v1/projects/{pid}/jobs").json()]
    assert kinds.count("pretrain") == 1
    assert kinds.count("embed") == 1


def test_j5_cancel_keeps_the_checkpoint_and_retry_resumes(app: LiveApp, http: ClientFactory) -> None:
    client = signed_up_client(http, "cancel@example.com")
    pid = _project_with_images(client)
    job = client.post(f"/api/v1/projects/{pid}/pretrain", json=LONG_RUN).raise_for_status().json()
    _checkpointed(client, job["id"], epochs=1)
    assert client.post(f"/api/v1/jobs/{job['id']}/retry").status_code == 409

    client.post(f"/api/v1/jobs/{job['id']}/cancel").raise_for_status()
    cancelled = wait_job(client, job["id"], timeout=30)
    assert cancelled["state"] == "cancelled"
    again = client.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert again.json()["state"] == "cancelled"
    assert client.get(f"/api/v1/projects/{pid}").json()["backbone_version"] is None

    assert client.post(f"/api/v1/jobs/{job['id']}/retry").status_code == 202
    done = wait_job(client, job["id"], timeout=300)
    assert done["state"] == "succeeded", done
    assert done["result"]["resumed_from_epoch"] >= 1
    assert len(done["progress"]["loss_history"]) >= 2


def test_j5_a_cancelled_queued_job_never_starts(app: LiveApp, http: ClientFactory, tmp_path: Path) -> None:
    client = signed_up_client(http, "queued@example.com")
    pid = _project_with_images(client)
    app.stop("worker")
    try:
        job = client.post(f"/api/v1/projects/{pid}/pretrain", json=LONG_RUN).json()
        cancelled = client.post(f"/api/v1/jobs/{job['id']}/cancel").json()
        assert cancelled["state"] == "cancelled"
    finally:
        app.start_worker()
    wait_for(lambda: "ready" in (app.data_dir / "worker.log").read_text(), timeout=60)
    after = client.get(f"/api/v1/jobs/{job['id']}").json()
    assert after["state"] == "cancelled"
    assert after["started_at"] is None


def test_new_labels_retrain_the_classifier_automatically(app: LiveApp, http: ClientFactory) -> None:
    client = signed_up_client(http, "auto@example.com")
    pid = _project_with_images(client)
    job = client.post(f"/api/v1/projects/{pid}/pretrain", json={"epochs": 1, "image_size": 32}).json()
    assert wait_job(client, job["id"])["state"] == "succeeded"
    wait_for(lambda: client.get(f"/api/v1/projects/{pid}").json()["backbone_version"] == 1)
    a = client.post(f"/api/v1/projects/{pid}/classes", json={"name": "a"}).json()["id"]
    b = client.post(f"/api/v1/projects/{pid}/classes", json={"name": "b"}).json()["id"]
    ids = [i["id"] for i in client.get(f"/api/v1/projects/{pid}/images").json()["items"]]

    client.put(f"/api/v1/projects/{pid}/labels", json={"image_ids": ids[:3], "class_id": a})
    assert not [j for j in client.get(f"/api/v1/projects/{pid}/jobs").json() if j["kind"] == "train"]
    client.put(f"/api/v1/projects/{pid}/labels", json={"image_ids": ids[3:6], "class_id": b})
    trains = [j for j in client.get(f"/api/v1/projects/{pid}/jobs").json() if j["kind"] == "train"]
    assert len(trains) == 1
    assert wait_job(client, trains[0]["id"])["state"] == "succeeded"
    assert client.get(f"/api/v1/projects/{pid}/model").json()["classifier"]["n_labels"] == 6
    client.put(f"/api/v1/projects/{pid}/labels", json={"image_ids": ids[6:8], "class_id": a})
    assert len([j for j in client.get(f"/api/v1/projects/{pid}/jobs").json() if j["kind"] == "train"]) == 1


def test_continued_pretraining_on_a_time_budget_is_guarded(app: LiveApp, http: ClientFactory) -> None:
    client = signed_up_client(http, "continue@example.com")
    pid = _project_with_images(client)
    early = client.post(f"/api/v1/projects/{pid}/pretrain", json={"start": "previous"})
    assert early.status_code == 400
    assert "previous" in early.json()["detail"]
    no_file = client.post(f"/api/v1/projects/{pid}/pretrain", json={"start": "weights"})
    assert no_file.status_code == 400
    assert "LABELLIGHT_PRETRAINED_WEIGHTS" in no_file.json()["detail"]
    first = client.post(f"/api/v1/projects/{pid}/pretrain", json={"epochs": 1, "image_size": 32}).json()
    first_result = wait_job(client, first["id"])["result"]
    assert first_result["start"] == "random"
    assert first_result["start_reason"].startswith("auto: no ImageNet weights on the server")
    wait_for(lambda: client.get(f"/api/v1/projects/{pid}").json()["backbone_version"] == 1)

    job = client.post(f"/api/v1/projects/{pid}/pretrain", json={"start": "previous", "time_budget_s": 15}).json()
    done = wait_job(client, job["id"])
    assert done["state"] == "succeeded", done
    assert done["result"]["start"] == "state dict"
    assert done["result"]["start_reason"].startswith("asked to continue from the project's current backbone")
    assert done["result"]["kept"] in ("pretrained", "initial")
    assert done["result"]["reason"]
    assert done["result"]["epochs"] >= 1
    assert done["result"]["stop_reason"].startswith("time budget")
    assert done["result"]["budget_s"] == 15
    assert done["result"]["elapsed_s"] is not None
    assert done["result"]["epochs_run"] > 0
    # A start kept by the guard is the current backbone itself: nothing new ships.
    kept_start = done["result"]["kept"] == "initial"
    assert done["result"]["shipped"] is not kept_start
    version = 1 if kept_start else 2
    assert done["result"]["backbone_version"] == version
    wait_for(lambda: client.get(f"/api/v1/projects/{pid}").json()["backbone_version"] == version)
