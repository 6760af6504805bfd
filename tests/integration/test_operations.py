"""Probes and metrics of the live app: /healthz, /readyz (database, broker, storage, a live worker) and
Prometheus metrics at /metrics, all without authentication."""

import json
import re

import httpx

from tests.api_client import ClientFactory, project_with_classes, signed_up_client, wait_for, wait_job
from tests.live_app import LiveApp
from tests.synthetic_images import dataset

CHECKS = {"database": "ok", "broker": "ok", "storage": "ok", "worker": "ok"}


def _metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text ``text``; labels must match exactly."""
    for line in text.splitlines():
        found = re.fullmatch(rf"{re.escape(name)}\{{(.*)\}} (\S+)", line)
        if found and dict(re.findall(r'(\w+)="([^"]*)"', found.group(1))) == labels:
            return float(found.group(2))
    raise AssertionError(f"no sample {name}{labels}")


def _ready(client: httpx.Client) -> dict | None:
    answer = client.get("/readyz")
    return answer.json() if answer.status_code == 200 else None


def test_healthz_readyz_and_a_finished_job_in_the_metrics(app: LiveApp, http: ClientFactory) -> None:
    anonymous = http()
    assert anonymous.get("/healthz").json() == {"status": "ok"}
    ready = wait_for(lambda: _ready(anonymous), timeout=120)  # the worker's first report
    assert ready == {"status": "ready", "checks": CHECKS}

    client = signed_up_client(http, "operations@example.com")
    pid, _ = project_with_classes(client, "Operations", ["a"])
    before = anonymous.get("/metrics")
    assert before.headers["content-type"].startswith("text/plain")
    succeeded = _metric(before.text, "labellight_jobs", kind="ingest", state="succeeded")
    files = [("files", (name, data)) for name, _, data in dataset(per_class=1)]
    job = wait_job(client, client.post(f"/api/v1/projects/{pid}/uploads", files=files).raise_for_status().json()["id"])
    assert job["state"] == "succeeded", job

    text = anonymous.get("/metrics").text
    assert _metric(text, "labellight_jobs", kind="ingest", state="succeeded") == succeeded + 1
    assert _metric(text, "labellight_queue_depth", queue="cpu") >= 0
    assert _metric(text, "labellight_queue_oldest_age_seconds", queue="gpu") >= 0
    assert _metric(text, "labellight_running_images_per_second", kind="pretrain") >= 0
    # Request latency by route template (ids never make series of their own).
    assert _metric(text, "labellight_http_request_duration_seconds_count", method="POST",
                   route="/api/v1/projects/{project_id}/uploads", status="202") >= 1
    assert f"/api/v1/jobs/{job['id']}" not in text
    # The worker's log lines are JSON objects, those written while a job ran carry its id.
    lines = [json.loads(line) for line in (app.data_dir / "worker.log").read_text().splitlines()
             if line.startswith("{")]
    assert {"time", "level", "logger", "message", "job_id"} <= set(lines[0])
    assert any(line["job_id"] == job["id"] for line in lines)


def test_readyz_is_not_ready_while_the_worker_is_down(app: LiveApp, http: ClientFactory) -> None:
    anonymous = http()
    wait_for(lambda: _ready(anonymous), timeout=120)
    app.stop("worker")  # a clean stop removes its report at once; a killed one goes stale after a few sweeps
    try:
        answer = anonymous.get("/readyz")
        assert answer.status_code == 503
        assert answer.json() == {"status": "not ready", "checks": {**CHECKS, "worker": "failing"}}
        assert str(app.data_dir) not in answer.text  # the reason is logged, never sent
        assert anonymous.get("/healthz").status_code == 200
    finally:
        app.start_worker()
    assert wait_for(lambda: _ready(anonymous), timeout=120)["checks"] == CHECKS
