"""The broker goes away (production mode: PostgreSQL + a private Redis that this module stops and starts).

J6 a job submitted while Redis is down answers without a server error and runs once Redis is back; after a
Redis restart, jobs submitted afterwards run. Measured figures are printed with -s (docs/reliability.md).
"""

import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import redis

from tests.api_client import ClientFactory, signed_up_client, wait_for, wait_job
from tests.live_app import LiveApp, free_port, live_app, production_services
from tests.synthetic_images import dataset, zip_of

FAST_RESEND = {"LABELLIGHT_SWEEP_INTERVAL_SECONDS": "1", "LABELLIGHT_REQUEUE_AFTER_SECONDS": "5",
               "LABELLIGHT_AUTO_TRAIN_EVERY": "0"}


class PrivateRedis:
    """A redis-server of this module's own, on a free port, without persistence."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.pidfile = folder / "redis.pid"
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", str(self.port),
                        "--save", "", "--appendonly", "no", "--pidfile", str(self.pidfile)], check=True, timeout=30)
        wait_for(self._answers, timeout=30, interval=0.1)

    def stop(self) -> None:
        if self._answers():
            redis.Redis.from_url(self.url).shutdown(nosave=True)
        wait_for(lambda: not self._answers(), timeout=30, interval=0.1)

    def _answers(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=1).ping())
        except redis.ConnectionError:
            return False


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, broker: PrivateRedis) -> Iterator[LiveApp]:
    with ExitStack() as stack:
        env = stack.enter_context(production_services())
        env["LABELLIGHT_BROKER_URL"] = broker.url
        yield stack.enter_context(live_app(tmp_path_factory.mktemp("labellight-broker"), {**env, **FAST_RESEND}))


def _upload(client: httpx.Client, pid: int, seed: int) -> httpx.Response:
    archive = zip_of([(n, d) for n, _, d in dataset(per_class=2, seed=seed)])
    return client.post(f"/api/v1/projects/{pid}/uploads", files=[("files", ("a.zip", archive))])


def _project(client: httpx.Client) -> int:
    pid: int = client.post("/api/v1/projects", json={"name": "Broker"}).raise_for_status().json()["id"]
    return pid


def test_j6_a_job_submitted_while_the_broker_is_down_runs_once_it_is_back(
        app: LiveApp, broker: PrivateRedis, http: ClientFactory) -> None:
    client = signed_up_client(http, "j6@example.com")
    pid = _project(client)
    broker.stop()
    try:
        answer = _upload(client, pid, seed=61)
        assert answer.status_code in (202, 503), answer.text
    finally:
        broker.start()
    back_at = time.monotonic()
    if answer.status_code == 503:  # refused whole: nothing was queued, the client sends it again
        answer = _upload(client, pid, seed=61)
    job = answer.json()
    done = wait_job(client, job["id"], timeout=240)
    print(f"\n[measured] broker down at submit: HTTP {answer.status_code}; the job ran "
          f"{time.monotonic() - back_at:.1f} s after Redis came back")
    assert done["state"] == "succeeded", done
    assert client.get(f"/api/v1/projects/{pid}/images").json()["total"] == len(dataset(per_class=2, seed=61))


def test_j6_after_a_redis_restart_new_jobs_run(app: LiveApp, broker: PrivateRedis, http: ClientFactory) -> None:
    client = signed_up_client(http, "redis-restart@example.com")
    pid = _project(client)
    assert wait_job(client, _upload(client, pid, seed=62).raise_for_status().json()["id"])["state"] == "succeeded"
    broker.stop()
    broker.start()
    back_at = time.monotonic()
    job = _upload(client, pid, seed=63)
    assert job.status_code == 202, job.text
    done = wait_job(client, job.json()["id"], timeout=240)
    print(f"\n[measured] Redis restart: a job submitted right after ran to the end in "
          f"{time.monotonic() - back_at:.1f} s")
    assert done["state"] == "succeeded", done
    assert client.get(f"/api/v1/projects/{pid}/images").json()["total"] == 2 * len(dataset(per_class=2, seed=62))
