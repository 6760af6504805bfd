"""Resumable uploads over HTTP: chunks, a wrong offset and resume, isolation, limits, cancel, expiry, ingest."""

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, update

from labellight.db.models import UploadSession
from tests.api_client import ClientFactory, file_report, signed_up_client, wait_for, wait_job
from tests.integration.conftest import MODES
from tests.live_app import LiveApp, live_app, production_services
from tests.synthetic_images import dataset, zip_of

CHUNK = 4096


@pytest.fixture(scope="module", params=MODES)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The live app with a small chunk size (so a small archive takes several chunks) and a quick sweeper."""
    data_dir: Path = tmp_path_factory.mktemp(f"labellight-uploads-{request.param}")
    with ExitStack() as stack:
        env = stack.enter_context(production_services()) if request.param == "production" else {}
        yield stack.enter_context(live_app(data_dir, {
            **env, "LABELLIGHT_UPLOAD_CHUNK_BYTES": str(CHUNK), "LABELLIGHT_SWEEP_INTERVAL_SECONDS": "1",
        }))


def _project(client: httpx.Client, name: str = "uploads") -> int:
    project_id: int = client.post("/api/v1/projects", json={"name": name}).raise_for_status().json()["id"]
    return project_id


def _open(client: httpx.Client, project_id: int, filename: str, size: int) -> dict[str, Any]:
    response = client.post(f"/api/v1/projects/{project_id}/upload-sessions", json={"filename": filename, "size": size})
    assert response.status_code == 201, response.text
    opened: dict[str, Any] = response.json()
    return opened


def _put(client: httpx.Client, upload_id: str, data: bytes, start: int, total: int,
         sent: bytes | None = None) -> httpx.Response:
    """PUT ``data`` as the chunk at ``start``; ``sent`` replaces the body (a body that disagrees with the range)."""
    header = f"bytes {start}-{start + len(data) - 1}/{total}"
    return client.put(f"/api/v1/upload-sessions/{upload_id}", content=data if sent is None else sent,
                      headers={"Content-Range": header})


def _send_rest(client: httpx.Client, upload_id: str, data: bytes) -> None:
    """Resume like a client after a dropped connection: ask where to continue, then send chunk by chunk."""
    received = client.get(f"/api/v1/upload-sessions/{upload_id}").raise_for_status().json()["received"]
    while received < len(data):
        answer = _put(client, upload_id, data[received:received + CHUNK], received, len(data))
        assert answer.status_code == 200, answer.text
        assert answer.json()["received"] == min(received + CHUNK, len(data))
        received = answer.json()["received"]


def _partial_file(app: LiveApp, project_id: int, upload_id: str) -> Path:
    return app.data_dir / "storage" / "projects" / str(project_id) / "upload-sessions" / upload_id


def _archive(seed: int = 0) -> tuple[int, bytes]:
    images = dataset(per_class=5, seed=seed)
    return len(images), zip_of([(name, data) for name, _, data in images])


def test_chunked_upload_with_a_wrong_offset_resumes_and_ingests(app: LiveApp, http: ClientFactory) -> None:
    client = signed_up_client(http, "chunks@example.com")
    project_id = _project(client)
    count, archive = _archive()
    assert len(archive) > 3 * CHUNK
    opened = _open(client, project_id, "shapes.zip", len(archive))
    assert opened["received"] == 0
    assert opened["chunk_size"] == CHUNK
    assert opened["filename"] == "shapes.zip"
    assert len(opened["id"]) >= 40
    upload_id = opened["id"]

    first = _put(client, upload_id, archive[:CHUNK], 0, len(archive))
    assert first.status_code == 200, first.text
    assert first.json()["received"] == CHUNK
    partial = _partial_file(app, project_id, upload_id)
    assert partial.read_bytes() == archive[:CHUNK]

    skipped = _put(client, upload_id, archive[2 * CHUNK:3 * CHUNK], 2 * CHUNK, len(archive))
    assert skipped.status_code == 409
    assert skipped.json()["received"] == CHUNK
    assert f"byte {CHUNK}" in skipped.json()["detail"]
    repeated = _put(client, upload_id, archive[:CHUNK], 0, len(archive))
    assert repeated.status_code == 409
    assert repeated.json()["received"] == CHUNK

    short_body = _put(client, upload_id, archive[CHUNK:2 * CHUNK], CHUNK, len(archive),
                      sent=archive[CHUNK:CHUNK + 100])
    assert short_body.status_code == 400
    assert "100 bytes" in short_body.json()["detail"]
    assert partial.stat().st_size == CHUNK  # nothing of the refused chunks was written

    _send_rest(client, upload_id, archive)
    assert partial.read_bytes() == archive

    job = client.post(f"/api/v1/projects/{project_id}/upload-sessions/complete", json={"session_ids": [upload_id]})
    assert job.status_code == 202, job.text
    assert job.json()["kind"] == "ingest"
    assert not partial.exists()  # moved into the job's input
    assert client.get(f"/api/v1/upload-sessions/{upload_id}").status_code == 404
    done = wait_job(client, job.json()["id"])
    assert done["state"] == "succeeded", done
    assert done["result"]["accepted"] == count
    assert all(f["name"].startswith("shapes.zip/") for f in file_report(client, done["id"]))
    images = client.get(f"/api/v1/projects/{project_id}/images").json()
    assert images["total"] == count
    assert not (app.data_dir / "storage" / "projects" / str(project_id) / "uploads" / str(done["id"])).exists()


def test_several_files_complete_into_one_job(app: LiveApp, http: ClientFactory) -> None:
    client = signed_up_client(http, "several@example.com")
    project_id = _project(client)
    images = dataset(per_class=1, seed=3)
    upload_ids = []
    for name, _, data in images:
        upload_id = _open(client, project_id, f"folder/{name}", len(data))["id"]
        _send_rest(client, upload_id, data)
        upload_ids.append(upload_id)
    job = client.post(f"/api/v1/projects/{project_id}/upload-sessions/complete", json={"session_ids": upload_ids})
    done = wait_job(client, job.raise_for_status().json()["id"])
    assert done["state"] == "succeeded", done
    assert [f["name"] for f in file_report(client, done["id"])] == [name for name, _, _ in images]
    assert {f["status"] for f in file_report(client, done["id"])} == {"accepted"}


def test_bad_sessions_and_chunks_answer_what_to_fix(app: LiveApp, http: ClientFactory) -> None:
    client = signed_up_client(http, "limits@example.com")
    project_id = _project(client)
    sessions = f"/api/v1/projects/{project_id}/upload-sessions"
    assert client.post(sessions, json={"filename": "a.zip", "size": 0}).status_code == 422
    assert client.post(sessions, json={"filename": "a\x00.zip", "size": 10}).status_code == 422
    assert client.post(sessions, json={"filename": "   ", "size": 10}).status_code == 422
    assert client.post(sessions, json={"size": 10}).status_code == 422
    too_big = client.post(sessions, json={"filename": "huge.zip", "size": 3 * 2**30})
    assert too_big.status_code == 413
    assert "upload limit" in too_big.json()["detail"]
    assert client.post("/api/v1/projects/999999/upload-sessions", json={"filename": "a", "size": 1}).status_code == 404

    data = b"x" * (CHUNK + 10)
    upload_id = _open(client, project_id, "a.zip", len(data))["id"]
    url = f"/api/v1/upload-sessions/{upload_id}"
    assert client.put(url, content=b"xx").status_code == 422  # no Content-Range
    malformed = client.put(url, content=b"xx", headers={"Content-Range": "bytes=0-1"})
    assert malformed.status_code == 400
    assert "bytes FIRST-LAST/SIZE" in malformed.json()["detail"]
    assert client.put(url, content=b"xx", headers={"Content-Range": f"bytes 5-1/{len(data)}"}).status_code == 400
    wrong_total = client.put(url, content=b"xx", headers={"Content-Range": "bytes 0-1/99"})
    assert wrong_total.status_code == 416
    assert "declared as" in wrong_total.json()["detail"]
    overrun = client.put(url, content=b"x" * 20, headers={"Content-Range": f"bytes {len(data) - 10}-{len(data) + 9}/"
                                                                          f"{len(data)}"})
    assert overrun.status_code == 416
    oversized = _put(client, upload_id, data[:CHUNK + 1], 0, len(data))
    assert oversized.status_code == 413
    assert str(CHUNK) in oversized.json()["detail"]
    assert client.get(url).json()["received"] == 0

    complete = f"{sessions}/complete"
    assert _put(client, upload_id, data[:CHUNK], 0, len(data)).status_code == 200
    unfinished = client.post(complete, json={"session_ids": [upload_id]})
    assert unfinished.status_code == 409
    assert f"{CHUNK} of {len(data)} bytes" in unfinished.json()["detail"]
    assert client.post(complete, json={"session_ids": []}).status_code == 422
    assert client.post(complete, json={"session_ids": [upload_id, upload_id]}).status_code == 400
    unknown = client.post(complete, json={"session_ids": ["no-such-session"]})
    assert unknown.status_code == 400
    assert "upload session not found" in unknown.json()["detail"]

    other_project = _project(client, "other")
    elsewhere = client.post(f"/api/v1/projects/{other_project}/upload-sessions/complete",
                            json={"session_ids": [upload_id]})
    assert elsewhere.status_code == 409
    assert "another project" in elsewhere.json()["detail"]
    _send_rest(client, upload_id, data)  # the refusals left the session usable
    assert client.get(url).json()["received"] == len(data)
    finished = _put(client, upload_id, b"x", len(data), len(data))
    assert finished.status_code == 416
    assert client.get(f"/api/v1/projects/{project_id}/jobs").json() == []


def test_sessions_belong_to_their_user(app: LiveApp, http: ClientFactory) -> None:
    owner = signed_up_client(http, "owner-up@example.com")
    intruder = signed_up_client(http, "intruder-up@example.com")
    project_id = _project(owner)
    intruder_project = _project(intruder)
    upload_id = _open(owner, project_id, "mine.png", 10)["id"]
    url = f"/api/v1/upload-sessions/{upload_id}"
    assert intruder.get(url).status_code == 404
    assert _put(intruder, upload_id, b"0123456789", 0, 10).status_code == 404
    assert intruder.delete(url).status_code == 404
    stolen = intruder.post(f"/api/v1/projects/{intruder_project}/upload-sessions/complete",
                           json={"session_ids": [upload_id]})
    assert stolen.status_code == 400
    assert "upload session not found" in stolen.json()["detail"]
    assert intruder.post(f"/api/v1/projects/{project_id}/upload-sessions",
                         json={"filename": "x.png", "size": 1}).status_code == 404
    assert owner.get(url).json()["received"] == 0
    assert not _partial_file(app, project_id, upload_id).exists()
    assert http().get(url).status_code == 401


def test_u7_cancel_removes_the_partial_file(app: LiveApp, http: ClientFactory) -> None:
    client = signed_up_client(http, "cancel-up@example.com")
    project_id = _project(client)
    _, archive = _archive(seed=1)
    upload_id = _open(client, project_id, "shapes.zip", len(archive))["id"]
    assert _put(client, upload_id, archive[:CHUNK], 0, len(archive)).status_code == 200
    partial = _partial_file(app, project_id, upload_id)
    assert partial.exists()
    url = f"/api/v1/upload-sessions/{upload_id}"
    assert client.delete(url).status_code == 204
    assert not partial.exists()
    assert client.get(url).status_code == 404
    assert client.delete(url).status_code == 404
    assert _put(client, upload_id, archive[CHUNK:2 * CHUNK], CHUNK, len(archive)).status_code == 404
    assert not partial.exists()


def _expire(app: LiveApp, upload_id: str) -> None:
    url = app.env.get("LABELLIGHT_DATABASE_URL") or f"sqlite:///{app.data_dir / 'labellight.db'}"
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(update(UploadSession).where(UploadSession.id == upload_id)
                         .values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    finally:
        engine.dispose()


def test_expired_sessions_are_removed_on_access_and_by_the_sweeper(app: LiveApp, http: ClientFactory) -> None:
    client = signed_up_client(http, "expiry@example.com")
    project_id = _project(client)
    data = b"y" * 100
    accessed, swept = (_open(client, project_id, name, len(data))["id"] for name in ("a.png", "b.png"))
    for upload_id in (accessed, swept):
        assert _put(client, upload_id, data[:50], 0, len(data)).status_code == 200
        _expire(app, upload_id)
    assert _put(client, accessed, data[50:], 50, len(data)).status_code == 404
    assert not _partial_file(app, project_id, accessed).exists()
    wait_for(lambda: not _partial_file(app, project_id, swept).exists(), timeout=60)
    assert client.get(f"/api/v1/upload-sessions/{swept}").status_code == 404
