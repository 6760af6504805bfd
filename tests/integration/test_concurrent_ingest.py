"""J12: ingests that run at the same time in one project never corrupt its pixel cache and never delete
what another ingest committed (real worker with two pool processes, both stacks)."""

from typing import Any

import httpx
import numpy as np
from sqlalchemy import create_engine, select

from labellight.db.models import Image, Project
from labellight.ingest.decode import decode_image
from labellight.ingest.limits import IngestLimits
from labellight.ingest.pixels import PixelCache, to_cache_pixels
from labellight.storage.keys import pixel_cache_key
from tests.api_client import ClientFactory, signed_up_client, wait_for, wait_job
from tests.live_app import LiveApp
from tests.pixel_cache_lock import pixel_cache_held
from tests.synthetic_images import dataset, zip_of

# Ingests only: no embed jobs of the pretrained start beside them in the two worker processes.
APP_ENV = {"LABELLIGHT_PRETRAINED": "false"}


def _archive(seed: int) -> tuple[int, bytes]:
    images = dataset(per_class=5, seed=seed)
    return len(images), zip_of([(name, data) for name, _, data in images])


def _ingest_together(app: LiveApp, client: httpx.Client, project_id: int,
                     archives: list[bytes]) -> list[dict[str, Any]]:
    """Upload every archive, let each job start (the worker runs two at once), then let them all go."""
    with pixel_cache_held(app, project_id):
        jobs = [client.post(f"/api/v1/projects/{project_id}/uploads", files=[("files", (f"batch{i}.zip", data))])
                .raise_for_status().json() for i, data in enumerate(archives)]
        wait_for(lambda: all(client.get(f"/api/v1/jobs/{j['id']}").json()["state"] == "running" for j in jobs),
                 timeout=120)
    return [wait_job(client, job["id"]) for job in jobs]


def _cache_rows(app: LiveApp, project_id: int) -> tuple[int, dict[int, int]]:
    """The project's cache side and each image's cache row, as the database holds them."""
    engine = create_engine(app.env.get("LABELLIGHT_DATABASE_URL") or f"sqlite:///{app.data_dir / 'labellight.db'}")
    try:
        with engine.connect() as conn:
            size = conn.scalar(select(Project.image_size).where(Project.id == project_id))
            rows = conn.execute(select(Image.id, Image.cache_row).where(Image.project_id == project_id)).all()
            return int(size or 0), {image_id: cache_row for image_id, cache_row in rows}
    finally:
        engine.dispose()


def _assert_cache_matches_originals(app: LiveApp, client: httpx.Client, project_id: int, expected: int) -> None:
    """Every image's original answers 200 and its pixel-cache row equals the original decoded again."""
    listing = client.get(f"/api/v1/projects/{project_id}/images", params={"limit": 1000}).raise_for_status().json()
    assert listing["total"] == expected
    size, cache_rows = _cache_rows(app, project_id)
    assert sorted(cache_rows.values()) == list(range(expected))
    cache = PixelCache(app.data_dir / "storage" / pixel_cache_key(project_id), size).read(expected)
    for image in listing["items"]:
        original = client.get(image["file_url"])
        assert original.status_code == 200, (image, original.text)
        assert client.get(image["thumbnail_url"]).status_code == 200
        decoded = decode_image(original.content, IngestLimits())
        assert np.array_equal(cache[cache_rows[image["id"]]], to_cache_pixels(decoded.image, size)), image


def test_j12_concurrent_ingests_of_disjoint_archives_keep_every_cache_row(app: LiveApp, http: ClientFactory) -> None:
    client = signed_up_client(http, "j12-disjoint@example.com")
    project_id = client.post("/api/v1/projects", json={"name": "J12 disjoint"}).raise_for_status().json()["id"]
    (n_a, a), (n_b, b) = _archive(seed=21), _archive(seed=22)

    jobs = _ingest_together(app, client, project_id, [a, b])

    assert [j["state"] for j in jobs] == ["succeeded", "succeeded"], jobs
    assert sorted(j["result"]["accepted"] for j in jobs) == sorted([n_a, n_b])
    _assert_cache_matches_originals(app, client, project_id, n_a + n_b)


def test_j12_the_same_archive_ingested_twice_at_once_keeps_the_first_copy(app: LiveApp, http: ClientFactory) -> None:
    client = signed_up_client(http, "j12-twice@example.com")
    project_id = client.post("/api/v1/projects", json={"name": "J12 twice"}).raise_for_status().json()["id"]
    n, archive = _archive(seed=23)

    jobs = _ingest_together(app, client, project_id, [archive, archive])

    assert [j["state"] for j in jobs] == ["succeeded", "succeeded"], jobs
    assert sorted((j["result"]["accepted"], j["result"]["duplicate"]) for j in jobs) == [(0, n), (n, 0)]
    _assert_cache_matches_originals(app, client, project_id, n)


def test_j12_a_cancelled_ingest_takes_back_only_its_own_rows_and_files(app: LiveApp, http: ClientFactory) -> None:
    client = signed_up_client(http, "j12-cancel@example.com")
    project_id = client.post("/api/v1/projects", json={"name": "J12 cancel"}).raise_for_status().json()["id"]
    n, first = _archive(seed=24)
    assert [j["state"] for j in _ingest_together(app, client, project_id, [first])] == ["succeeded"]
    images = dataset(per_class=5, seed=24) + dataset(per_class=2, seed=25)

    with pixel_cache_held(app, project_id):
        job = client.post(f"/api/v1/projects/{project_id}/uploads",
                          files=[("files", ("more.zip", zip_of([(name, data) for name, _, data in images])))]).json()
        wait_for(lambda: client.get(f"/api/v1/jobs/{job['id']}").json()["state"] == "running", timeout=120)
        client.post(f"/api/v1/jobs/{job['id']}/cancel").raise_for_status()

    assert wait_job(client, job["id"])["state"] == "cancelled"
    project_dir = app.data_dir / "storage" / "projects" / str(project_id)
    assert len([p for p in (project_dir / "originals").rglob("*") if p.is_file()]) == n
    assert len([p for p in (project_dir / "thumbnails").rglob("*") if p.is_file()]) == n
    size, _ = _cache_rows(app, project_id)
    assert PixelCache(project_dir / "pixels.u8", size).count == n
    _assert_cache_matches_originals(app, client, project_id, n)
