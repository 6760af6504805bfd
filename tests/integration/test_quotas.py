"""A10, A8 and U9: operator caps, per-user quotas and rate limits, each refused with a 4xx that names the
limit, and the same export never made twice."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.api_client import ClientFactory, project_with_classes, signed_up_client
from tests.live_app import LiveApp, live_app
from tests.synthetic_images import encode, noise_image

LIMITS = {
    "LABELLIGHT_MAX_ACTIVE_JOBS_PER_USER": "2",
    "LABELLIGHT_MAX_OPEN_UPLOADS_PER_USER": "2",
    "LABELLIGHT_MAX_PRETRAIN_IMAGE_SIZE": "64",
    "LABELLIGHT_MAX_QUERY_PIXELS": "1000000",
    "LABELLIGHT_INFERENCE_REQUESTS_PER_MINUTE": "3",
}


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    data_dir: Path = tmp_path_factory.mktemp("labellight-quotas")
    with live_app(data_dir, LIMITS) as app:
        app.stop("worker")  # jobs stay queued: the quota counts them
        yield app


@pytest.fixture(scope="module")
def http(capped: LiveApp) -> Iterator[ClientFactory]:
    made: list[httpx.Client] = []

    def make(**kwargs: object) -> httpx.Client:
        made.append(httpx.Client(base_url=capped.base_url, timeout=60, **kwargs))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for client in made:
        client.close()


def _upload(client: httpx.Client, pid: int, seed: int) -> httpx.Response:
    return client.post(f"/api/v1/projects/{pid}/uploads",
                       files=[("files", (f"{seed}.png", encode(noise_image(seed=seed))))])


def test_a10_queued_and_running_jobs_are_capped_per_user(http: ClientFactory) -> None:
    client = signed_up_client(http, "busy@example.com")
    pid, _ = project_with_classes(client, "Busy", ["a"])
    first, second = _upload(client, pid, 1), _upload(client, pid, 2)
    assert (first.status_code, second.status_code) == (202, 202)
    refused = _upload(client, pid, 3)
    assert refused.status_code == 429
    assert "LABELLIGHT_MAX_ACTIVE_JOBS_PER_USER=2" in refused.json()["detail"]
    assert int(refused.headers["Retry-After"]) > 0
    assert len(client.get(f"/api/v1/projects/{pid}/jobs").json()) == 2  # nothing half-made
    other = signed_up_client(http, "calm@example.com")
    other_pid, _ = project_with_classes(other, "Calm", ["a"])
    assert _upload(other, other_pid, 4).status_code == 202  # one user's quota is not everyone's
    assert client.post(f"/api/v1/jobs/{first.json()['id']}/cancel").status_code == 200
    assert _upload(client, pid, 5).status_code == 202


def test_a10_open_uploads_are_capped_per_user(http: ClientFactory) -> None:
    client = signed_up_client(http, "uploads@example.com")
    pid, _ = project_with_classes(client, "Uploads", ["a"])
    sessions = f"/api/v1/projects/{pid}/upload-sessions"
    for name in ("a.zip", "b.zip"):
        assert client.post(sessions, json={"filename": name, "size": 1000}).status_code == 201
    refused = client.post(sessions, json={"filename": "c.zip", "size": 1000})
    assert refused.status_code == 429
    assert "LABELLIGHT_MAX_OPEN_UPLOADS_PER_USER=2" in refused.json()["detail"]


def test_a10_pretraining_settings_are_capped_by_the_operator(http: ClientFactory) -> None:
    client = signed_up_client(http, "big@example.com")
    pid, _ = project_with_classes(client, "Big", ["a"])
    refused = client.post(f"/api/v1/projects/{pid}/pretrain", json={"image_size": 128})
    assert refused.status_code == 400
    assert "LABELLIGHT_MAX_PRETRAIN_IMAGE_SIZE" in refused.json()["detail"]
    assert "64" in refused.json()["detail"]
    assert client.get(f"/api/v1/projects/{pid}/jobs").json() == []


def test_u9_query_images_have_a_pixel_budget_checked_before_decoding(http: ClientFactory) -> None:
    client = signed_up_client(http, "pixels@example.com")
    pid, _ = project_with_classes(client, "Pixels", ["a"])
    big = encode(Image.new("RGB", (800, 800), (10, 20, 30)))
    over = client.post(f"/api/v1/projects/{pid}/predict", files=[("files", (f"{i}.png", big)) for i in range(2)])
    assert over.status_code == 413
    assert "LABELLIGHT_MAX_QUERY_PIXELS=1000000" in over.json()["detail"]
    searched = client.post(f"/api/v1/projects/{pid}/search", files=[("file", ("q.png", encode(
        Image.new("RGB", (1200, 1000))))) ])
    assert searched.status_code == 413
    within = client.post(f"/api/v1/projects/{pid}/predict", files=[("files", ("one.png", big))])
    assert within.status_code == 409  # within the budget: it goes on to the project's state (no model yet)


def test_a8_prediction_requests_are_rate_limited_per_user(http: ClientFactory) -> None:
    client = signed_up_client(http, "flood@example.com")
    pid, _ = project_with_classes(client, "Flood", ["a"])
    image = [("files", ("q.png", encode(noise_image())))]
    for _ in range(3):
        assert client.post(f"/api/v1/projects/{pid}/predict", files=image).status_code == 409  # no model yet
    flooded = client.post(f"/api/v1/projects/{pid}/search", files=[("file", ("q.png", encode(noise_image())))])
    assert flooded.status_code == 429
    assert "LABELLIGHT_INFERENCE_REQUESTS_PER_MINUTE" in flooded.json()["detail"]
    assert 0 < int(flooded.headers["Retry-After"]) <= 60
    other = signed_up_client(http, "patient@example.com")
    other_pid, _ = project_with_classes(other, "Patient", ["a"])
    assert other.post(f"/api/v1/projects/{other_pid}/predict", files=image).status_code == 409
