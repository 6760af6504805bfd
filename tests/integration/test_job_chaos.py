"""Jobs and the API under real failures, with real processes (embedded mode: SQLite + file broker).

J3 a job sent twice runs once; J4 a job whose worker dies every time fails after job_max_attempts with a
reason; J7 progress is monotonic, persisted and on the event stream; J9 a failed embed retries from
itself, not from pretraining; A5 images are served with their type and nosniff; kill -9 of the API
while labels are written loses no acknowledged label.

The measured figures (seconds to recover, work lost) are printed with -s; docs/reliability.md keeps them.
"""

import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from labellight.storage.keys import backbone_prefix, map_key
from tests.api_client import ClientFactory, job_events, signed_up_client, wait_for, wait_job
from tests.live_app import LiveApp, live_app
from tests.synthetic_images import dataset, zip_of

FAST_RECOVERY = {
    "LABELLIGHT_JOB_LEASE_SECONDS": "10",
    "LABELLIGHT_SWEEP_INTERVAL_SECONDS": "1",
    "LABELLIGHT_JOB_MAX_ATTEMPTS": "3",
    "LABELLIGHT_AUTO_TRAIN_EVERY": "0",
    # Projects start from scratch with a 64-px cache: what these tests check is not the pretrained start.
    "LABELLIGHT_PRETRAINED": "false",
    "LABELLIGHT_CACHE_IMAGE_SIZE": "64",
}
LONG_RUN = {"epochs": 50, "batch_size": 8, "image_size": 32}
# Long enough for several progress reports (at most one a second) even on a fast, idle machine.
PROGRESS_RUN = {"epochs": 15, "batch_size": 8, "image_size": 32}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    with live_app(tmp_path_factory.mktemp("labellight-chaos"), FAST_RECOVERY) as live:
        yield live


def _project(client: httpx.Client, name: str) -> int:
    pid: int = client.post("/api/v1/projects", json={"name": name}).raise_for_status().json()["id"]
    return pid


def _upload(client: httpx.Client, pid: int, per_class: int = 4, seed: int = 11) -> dict[str, Any]:
    archive = zip_of([(n, d) for n, _, d in dataset(per_class=per_class, seed=seed)])
    job: dict[str, Any] = (client.post(f"/api/v1/projects/{pid}/uploads", files=[("files", ("a.zip", archive))])
                           .raise_for_status().json())
    return job


def _project_with_images(client: httpx.Client, name: str) -> int:
    pid = _project(client, name)
    assert wait_job(client, _upload(client, pid)["id"])["state"] == "succeeded"
    return pid


def _send_again(app: LiveApp, kind: str, job_id: int) -> None:
    """Send a job's id to the broker as the API does, from another process (a double send)."""
    code = ("import sys; from labellight.jobs.routes import JobKind; from labellight.jobs.transport import send_job; "
            "sys.exit(0 if send_job(JobKind(sys.argv[1]), int(sys.argv[2])) else 1)")
    subprocess.run([sys.executable, "-c", code, kind, str(job_id)], env=app.env, check=True, timeout=120)


def _broker_queue_empty(app: LiveApp) -> bool:
    return not any((app.data_dir / "broker" / "queue").iterdir())


def _restart_worker(app: LiveApp) -> None:
    app.stop("worker", signal.SIGKILL)
    app.start_worker()


def test_j3_a_job_sent_three_times_runs_once(app: LiveApp, http: ClientFactory) -> None:
    client = signed_up_client(http, "j3@example.com")
    pid = _project(client, "J3")
    app.stop("worker")
    try:
        job = _upload(client, pid, per_class=3, seed=3)
        _send_again(app, "ingest", job["id"])  # and the worker's sweeper sends it a third time at its start
    finally:
        app.start_worker()
    done = wait_job(client, job["id"])
    assert done["state"] == "succeeded", done
    wait_for(lambda: _broker_queue_empty(app), timeout=120)
    _send_again(app, "ingest", job["id"])  # a late duplicate after the job finished
    wait_for(lambda: _broker_queue_empty(app), timeout=120)

    after = client.get(f"/api/v1/jobs/{job['id']}").json()
    assert after["attempts"] == 1
    assert after["state"] == "succeeded"
    n = len(dataset(per_class=3, seed=3))
    assert after["result"]["accepted"] == n
    assert client.get(f"/api/v1/projects/{pid}/images").json()["total"] == n


def test_j4_a_job_that_kills_its_worker_every_time_fails_after_the_attempts(app: LiveApp, http: ClientFactory) -> None:
    client = signed_up_client(http, "j4@example.com")
    pid = _project_with_images(client, "J4")
    job = client.post(f"/api/v1/projects/{pid}/pretrain", json=LONG_RUN).raise_for_status().json()
    for attempt in (1, 2, 3):
        wait_for(lambda a=attempt: (lambda j: j["state"] == "running" and j["attempts"] == a)(
            client.get(f"/api/v1/jobs/{job['id']}").json()), timeout=180, interval=0.2)
        _restart_worker(app)  # the worker dies in the middle of the job, each time it runs it
    last_kill = time.monotonic()

    failed = wait_job(client, job["id"], timeout=180)
    print(f"\n[measured] J4: failed for good {time.monotonic() - last_kill:.1f} s after the third kill")
    assert failed["state"] == "failed", failed
    assert failed["attempts"] == 3
    assert "stopped during this job 3 times" in failed["error"]
    assert client.get(f"/api/v1/projects/{pid}").json()["backbone_version"] is None
    # Failed for good: the next sweeps leave it alone.
    time.sleep(3)
    assert client.get(f"/api/v1/jobs/{job['id']}").json()["attempts"] == 3


def _job_events(client: httpx.Client, pid: int, submit: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    """Submit a pretrain while the project's event stream is open; the job's events until it ends."""
    seen: list[dict[str, Any]] = []
    with client.stream("GET", f"/api/v1/projects/{pid}/events", timeout=300) as stream:
        job_id: int = client.post(f"/api/v1/projects/{pid}/pretrain", json=submit).raise_for_status().json()["id"]
        for data in job_events(stream.iter_lines()):
            if data["id"] == job_id:
                seen.append(data)
                if data["state"] in ("succeeded", "failed", "cancelled"):
                    break
    return job_id, seen


def test_j7_progress_is_monotonic_persisted_and_on_the_event_stream(app: LiveApp, http: ClientFactory) -> None:
    client = signed_up_client(http, "j7@example.com")
    pid = _project_with_images(client, "J7")
    job_id, events = _job_events(client, pid, PROGRESS_RUN)
    assert events[-1]["state"] == "succeeded", events[-1]
    running = [e["progress"] for e in events if e["state"] == "running" and e["progress"]]
    assert len(running) >= 2, events
    fractions = [p["fraction"] for p in running] + [events[-1]["progress"]["fraction"]]
    assert fractions == sorted(fractions)
    epochs = [p.get("epoch", 0) for p in running]
    assert epochs == sorted(epochs)
    assert events[-1]["progress"]["fraction"] == 1.0
    assert client.get(f"/api/v1/jobs/{job_id}").json()["progress"] == events[-1]["progress"]


def test_j9_a_failed_embed_retries_from_the_embed_not_from_pretraining(app: LiveApp, http: ClientFactory) -> None:
    client = signed_up_client(http, "j9@example.com")
    pid = _project_with_images(client, "J9")
    # A directory where the embed stage writes its map: its atomic rename fails, as on a full or broken disk.
    storage = app.data_dir / "storage"
    blocker = storage / map_key(pid, 1)
    (blocker / "in-the-way").mkdir(parents=True)

    pretrain = client.post(f"/api/v1/projects/{pid}/pretrain", json={"epochs": 1, "image_size": 32}).json()
    assert wait_job(client, pretrain["id"])["state"] == "succeeded"
    embed = wait_for(lambda: next((j for j in client.get(f"/api/v1/projects/{pid}/jobs").json()
                                   if j["kind"] == "embed"), None))
    failed = wait_job(client, embed["id"])
    assert failed["state"] == "failed", failed
    assert failed["error"]
    weights = sorted(p for p in (storage / backbone_prefix(pid, 1)).rglob("*") if p.is_file())
    kept = {p: p.read_bytes() for p in weights}

    shutil.rmtree(blocker)
    assert client.post(f"/api/v1/jobs/{embed['id']}/retry").status_code == 202
    done = wait_job(client, embed["id"])
    assert done["state"] == "succeeded", done

    jobs = client.get(f"/api/v1/projects/{pid}/jobs").json()
    assert [j["kind"] for j in jobs].count("pretrain") == 1
    assert [j["kind"] for j in jobs].count("embed") == 1
    assert client.get(f"/api/v1/jobs/{pretrain['id']}").json()["attempts"] == 1
    assert client.get(f"/api/v1/projects/{pid}").json()["backbone_version"] == 1
    assert all(p.read_bytes() == data for p, data in kept.items())  # pretraining's result kept, not redone
    image_id = client.get(f"/api/v1/projects/{pid}/images").json()["items"][0]["id"]
    assert client.get(f"/api/v1/projects/{pid}/images/{image_id}/similar").status_code == 200


def test_a5_images_are_served_with_their_type_and_nosniff(app: LiveApp, http: ClientFactory) -> None:
    client = signed_up_client(http, "a5@example.com")
    pid = _project(client, "A5")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    html = b"<html><script>alert(1)</script></html>"
    files = [("files", ("ok.png", dataset(per_class=1, seed=5)[0][2])),
             ("files", ("evil.svg", svg)), ("files", ("evil.jpg", html))]
    job = client.post(f"/api/v1/projects/{pid}/uploads", files=files).raise_for_status().json()
    result = wait_job(client, job["id"])["result"]
    assert (result["accepted"], result["rejected"]) == (1, 2)
    item = client.get(f"/api/v1/projects/{pid}/images").json()["items"][0]
    for url in (item["file_url"], item["thumbnail_url"]):
        answer = client.get(url)
        assert answer.status_code == 200
        assert answer.headers["content-type"] in ("image/png", "image/jpeg"), answer.headers
        assert answer.headers["x-content-type-options"] == "nosniff"


class _Labeller(threading.Thread):
    """Labels images one request at a time, round after round, until a request gets no answer."""

    def __init__(self, client: httpx.Client, pid: int, ids: list[int], classes: list[int]) -> None:
        super().__init__(daemon=True)
        self.client, self.pid, self.ids, self.classes = client, pid, ids, classes
        self.acked: dict[int, int] = {}
        self.acks = 0
        self.in_flight: tuple[int, int] | None = None

    def run(self) -> None:
        for step in range(1_000_000):
            image, cls = self.ids[step % len(self.ids)], self.classes[(step // len(self.ids) + step) % 2]
            self.in_flight = (image, cls)
            try:
                answer = self.client.put(f"/api/v1/projects/{self.pid}/labels",
                                         json={"image_ids": [image], "class_id": cls}, timeout=30)
            except httpx.TransportError:
                return
            if answer.is_success:
                self.acked[image] = cls
                self.acks += 1


def test_kill_9_of_the_api_while_labeling_loses_no_acknowledged_label(app: LiveApp, http: ClientFactory) -> None:
    client = signed_up_client(http, "labels@example.com")
    pid = _project_with_images(client, "Kill API")
    classes = [client.post(f"/api/v1/projects/{pid}/classes", json={"name": n}).json()["id"] for n in "ab"]
    ids = [i["id"] for i in client.get(f"/api/v1/projects/{pid}/images").json()["items"]]

    labeller = _Labeller(client, pid, ids, classes)
    labeller.start()
    wait_for(lambda: labeller.acks >= 60, timeout=120, interval=0.05)
    killed_at = time.monotonic()
    app.stop("server", signal.SIGKILL)
    labeller.join(timeout=60)
    port = app.base_url.rsplit(":", 1)[1]
    app.spawn("server", "serve", "--port", port)
    wait_for(lambda: _healthy(app), timeout=120, interval=0.1)
    print(f"\n[measured] API kill -9: healthy again after {time.monotonic() - killed_at:.1f} s; "
          f"{labeller.acks} labels acknowledged")

    stored = {i["id"]: i["class_id"] for i in client.get(f"/api/v1/projects/{pid}/images").json()["items"]}
    lost = {image: cls for image, cls in labeller.acked.items() if stored[image] != cls}
    if labeller.in_flight is not None:  # unanswered: it may or may not have been committed
        image, cls = labeller.in_flight
        if stored[image] == cls:
            lost.pop(image, None)
    print(f"[measured] API kill -9: {len(lost)} acknowledged labels lost")
    assert lost == {}


def _healthy(app: LiveApp) -> bool:
    try:
        return httpx.get(f"{app.base_url}/api/v1/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
