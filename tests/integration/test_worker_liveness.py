"""J11: a worker that accepts jobs but no longer runs them is found and replaced; a job whose message
never reached a worker is sent again. Real processes: `labellight run`, its Celery worker, kill -9."""

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api_client import ClientFactory, signed_up_client, wait_for, wait_job
from tests.live_app import LiveApp, embedded_run, free_port, live_app, production_services
from tests.process_tree import alive, cpu_ticks, descendants, parent_of
from tests.synthetic_images import dataset, zip_of

QUICK_SUPERVISION = {
    "LABELLIGHT_JOB_LEASE_SECONDS": "15",
    "LABELLIGHT_SWEEP_INTERVAL_SECONDS": "1",
    "LABELLIGHT_REQUEUE_AFTER_SECONDS": "4",
    "LABELLIGHT_WORKER_STALL_SECONDS": "12",
    # Projects start from scratch with a 64-px cache: what these tests check is not the pretrained start.
    "LABELLIGHT_PRETRAINED": "false",
    "LABELLIGHT_CACHE_IMAGE_SIZE": "64",
}
LONG_RUN = {"epochs": 6, "batch_size": 8, "image_size": 32}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    with embedded_run(tmp_path_factory.mktemp("labellight-liveness"), QUICK_SUPERVISION) as live:
        yield live


@pytest.fixture
def http(app: LiveApp) -> Iterator[ClientFactory]:
    made: list[httpx.Client] = []

    def make(**kwargs: object) -> httpx.Client:
        client = httpx.Client(base_url=app.base_url, timeout=120, **kwargs)  # type: ignore[arg-type]
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def _upload(client: httpx.Client, pid: int, seed: int) -> int:
    archive = zip_of([(n, d) for n, _, d in dataset(per_class=4, seed=seed)])
    job = client.post(f"/api/v1/projects/{pid}/uploads", files=[("files", ("a.zip", archive))])
    job_id: int = job.raise_for_status().json()["id"]
    return job_id


def _pool_children(app: LiveApp) -> list[int]:
    """The Celery pool processes: the processes below the worker's main process."""
    run = app.processes["run"].pid
    below = descendants(run)
    return [pid for pid in below if parent_of(pid) not in (run, None) and parent_of(parent_of(pid) or 0) == run]


def _idle_pool_child(app: LiveApp) -> int:
    """The pool process that does not run the pretrain job: the one that uses no CPU over a second."""
    def found() -> int | None:
        children = _pool_children(app)
        if len(children) != 2:
            return None
        before = {pid: cpu_ticks(pid) for pid in children}
        time.sleep(1.0)
        used = {pid: cpu_ticks(pid) - before[pid] for pid in children}
        idle, busy = sorted(children, key=used.__getitem__)
        return idle if used[busy] > 10 * max(used[idle], 1) else None

    pid: int = wait_for(found, timeout=120, interval=0.2)
    return pid


def test_j11_a_killed_idle_pool_process_does_not_wedge_later_jobs(app: LiveApp, http: ClientFactory) -> None:
    client = signed_up_client(http, "j11@example.com")
    pid: int = client.post("/api/v1/projects", json={"name": "J11"}).raise_for_status().json()["id"]
    assert wait_job(client, _upload(client, pid, seed=1))["state"] == "succeeded"
    pretrain = client.post(f"/api/v1/projects/{pid}/pretrain", json=LONG_RUN).raise_for_status().json()
    wait_for(lambda: client.get(f"/api/v1/jobs/{pretrain['id']}").json()["state"] == "running", timeout=120)

    os.kill(_idle_pool_child(app), signal.SIGKILL)
    later = [_upload(client, pid, seed=100 + i) for i in range(3)]

    for job_id in later:
        assert wait_job(client, job_id, timeout=240)["state"] == "succeeded"
    assert wait_job(client, pretrain["id"], timeout=400)["state"] == "succeeded"


def test_j11_a_job_whose_send_failed_is_sent_again_by_the_running_worker(tmp_path: Path) -> None:
    """J6 too: the API's broker is unreachable at submit (a dead Redis port), the worker's is fine."""
    with production_services() as services, live_app(
        tmp_path / "app", {**services, **QUICK_SUPERVISION},
        server_env={"LABELLIGHT_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0"},
    ) as app, signed_up_client(lambda **kw: httpx.Client(base_url=app.base_url, timeout=120, **kw),
                               "j6@example.com") as client:
        pid: int = client.post("/api/v1/projects", json={"name": "J6"}).raise_for_status().json()["id"]
        job_id = _upload(client, pid, seed=7)
        assert "could not send job" in (app.data_dir / "server.log").read_text()
        assert wait_job(client, job_id, timeout=120)["state"] == "succeeded"


def test_sigterm_to_run_ends_its_worker_and_pool(tmp_path: Path) -> None:
    """A service manager or `kill` stops `labellight run` with SIGTERM to its main process only."""
    with embedded_run(tmp_path / "run") as app:
        run = app.processes["run"]
        # The worker's main process and its two pool processes.
        wait_for(lambda: len(descendants(run.pid)) >= 3, timeout=120)
        family = descendants(run.pid)
        os.kill(run.pid, signal.SIGTERM)
        run.wait(timeout=120)
        try:
            wait_for(lambda: not [pid for pid in family if alive(pid)], timeout=60, interval=0.5)
        finally:
            left = [pid for pid in family if alive(pid)]
            for pid in left:
                os.kill(pid, signal.SIGKILL)
        assert not left
