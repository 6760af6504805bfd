"""U7/U9: request size and file-count limits hold whatever the framing, before bodies are read into memory."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api_client import signed_up_client
from tests.live_app import LiveApp, live_app

LIMIT = 200_000


@pytest.fixture(scope="module")
def small_limit_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    data_dir: Path = tmp_path_factory.mktemp("labellight-limits")
    with live_app(data_dir, {"LABELLIGHT_MAX_REQUEST_BYTES": str(LIMIT)}) as app:
        yield app


@pytest.fixture(scope="module")
def client(small_limit_app: LiveApp) -> Iterator[httpx.Client]:
    made: list[httpx.Client] = []

    def make(**kwargs: object) -> httpx.Client:
        made.append(httpx.Client(base_url=small_limit_app.base_url, timeout=60, **kwargs))  # type: ignore[arg-type]
        return made[-1]

    yield signed_up_client(make, "limits@example.com")
    for c in made:
        c.close()


def _multipart(name: str, size: int) -> tuple[bytes, str]:
    boundary = "limitsboundary"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    return head + b"\0" * size + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_u7_declared_length_over_the_limit_is_refused(client: httpx.Client) -> None:
    pid = client.post("/api/v1/projects", json={"name": "Declared"}).json()["id"]
    body, content_type = _multipart("big.zip", LIMIT * 2)
    answer = client.post(f"/api/v1/projects/{pid}/uploads", content=body, headers={"Content-Type": content_type})
    assert answer.status_code == 413
    assert str(LIMIT) in answer.json()["detail"]
    assert client.get(f"/api/v1/projects/{pid}/jobs").json() == []


def test_u9_chunked_body_over_the_limit_is_refused(client: httpx.Client) -> None:
    """A chunked body declares no length: its bytes are counted as they arrive."""
    pid = client.post("/api/v1/projects", json={"name": "Chunked"}).json()["id"]
    body, content_type = _multipart("big.zip", LIMIT * 2)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 16_384):
            yield body[start:start + 16_384]

    answer = client.post(f"/api/v1/projects/{pid}/uploads", content=chunks(), headers={"Content-Type": content_type})
    assert answer.request.headers.get("transfer-encoding") == "chunked"
    assert answer.status_code == 413
    assert str(LIMIT) in answer.json()["detail"]
    assert client.get(f"/api/v1/projects/{pid}/jobs").json() == []
    small, content_type = _multipart("small.png", 1_000)
    accepted = client.post(f"/api/v1/projects/{pid}/uploads", content=iter([small]),
                           headers={"Content-Type": content_type})
    assert accepted.status_code == 202


def test_u9_predict_counts_files_before_reading_them(client: httpx.Client) -> None:
    pid = client.post("/api/v1/projects", json={"name": "Count"}).json()["id"]
    answer = client.post(f"/api/v1/projects/{pid}/predict", files=[("files", (f"{i}.png", b"x")) for i in range(257)])
    assert answer.status_code == 422
    assert "at most 256" in answer.text
