"""Several worker processes on one Redis share the queues, and every job runs exactly once: a second
delivery of a message (a sweep, a redelivery) finds the job claimed and skips it. Real processes: the API,
two `labellight worker`s, PostgreSQL and Redis."""

import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.api_client import ClientFactory, project_with_classes, signed_up_client, wait_job
from tests.live_app import LiveApp, live_app, production_services
from tests.synthetic_images import dataset, zip_of

JOBS = 12


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    with ExitStack() as stack:
        env = stack.enter_context(production_services())
        # Uploads only (no features job after them): what is checked is who runs each job, not what it does.
        settings = {**env, "LABELLIGHT_AUTO_TRAIN_EVERY": "0", "LABELLIGHT_PRETRAINED": "false",
                    "LABELLIGHT_CACHE_IMAGE_SIZE": "32"}
        live = stack.enter_context(live_app(tmp_path_factory.mktemp("labellight-two-workers"), settings))
        live.spawn("worker-2", "worker")
        yield live


def _log_lines(app: LiveApp, name: str) -> list[dict[str, object]]:
    path = app.data_dir / f"{name}.log"
    text = path.read_text() if path.exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _ran(app: LiveApp, name: str) -> list[int]:
    """Ids of the jobs this worker ran to the end (a skipped second delivery does not count)."""
    return [int(str(line["job_id"])) for line in _log_lines(app, name)
            if str(line["message"]).startswith("job ended:") and str(line["message"]).endswith("returned succeeded")]


def _wait_ready(app: LiveApp, name: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        path = app.data_dir / f"{name}.log"
        if path.exists() and " ready." in path.read_text():
            return
        time.sleep(0.5)
    raise AssertionError(f"{name} did not start within {timeout} s")


def test_two_workers_share_the_queue_and_run_each_job_exactly_once(app: LiveApp, http: ClientFactory) -> None:
    _wait_ready(app, "worker")
    _wait_ready(app, "worker-2")
    client = signed_up_client(http, "two-workers@example.com")
    job_ids = []
    for n in range(JOBS):
        pid, _ = project_with_classes(client, f"Share {n}", ["a"])
        archive = zip_of([(name, data) for name, _, data in dataset(per_class=2, seed=n)])
        answer = client.post(f"/api/v1/projects/{pid}/uploads", files=[("files", ("a.zip", archive))])
        job_ids.append(answer.raise_for_status().json()["id"])
    for job_id in job_ids:
        job = wait_job(client, job_id)
        assert job["state"] == "succeeded", job
        assert job["attempts"] == 1, job  # claimed once: no second worker took it over

    deadline = time.monotonic() + 30  # the "job ended" line follows the job's commit
    while time.monotonic() < deadline and len(_ran(app, "worker") + _ran(app, "worker-2")) < JOBS:
        time.sleep(0.5)
    first, second = _ran(app, "worker"), _ran(app, "worker-2")
    runs = Counter(first + second)
    assert sorted(runs) == sorted(job_ids)
    assert set(runs.values()) == {1}, f"jobs run more than once: {[j for j, n in runs.items() if n > 1]}"
    assert first, "the first worker ran none of the jobs"
    assert second, "the second worker ran none of the jobs"
