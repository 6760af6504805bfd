"""A9: a project deleted while its ingest runs leaks nothing: ids are never reused, the job's late commit
is fenced off, and the files it writes afterwards are removed (real worker, both stacks)."""

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from labellight.db.models import Image
from tests.api_client import ClientFactory, signed_up_client, wait_for, wait_job
from tests.integration.conftest import MODES
from tests.live_app import LiveApp, live_app, production_services
from tests.pixel_cache_lock import pixel_cache_held
from tests.synthetic_images import dataset, zip_of


@pytest.fixture(scope="module", params=MODES)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The live app with a worker that runs one job at a time, so that a later job runs after an earlier one."""
    data_dir: Path = tmp_path_factory.mktemp(f"labellight-deletion-{request.param}")
    with ExitStack() as stack:
        env = stack.enter_context(production_services()) if request.param == "production" else {}
        settings = {**env, "LABELLIGHT_AUTO_TRAIN_EVERY": "0", "LABELLIGHT_PRETRAINED": "false"}
        live = stack.enter_context(live_app(data_dir, settings))
        live.stop("worker")
        live.spawn("worker", "worker", "--concurrency", "1")
        yield live


def _images_in_database(app: LiveApp, project_id: int) -> int:
    engine = create_engine(app.env.get("LABELLIGHT_DATABASE_URL") or f"sqlite:///{app.data_dir / 'labellight.db'}")
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count(Image.id)).where(Image.project_id == project_id)) or 0)
    finally:
        engine.dispose()


def test_a9_a_project_deleted_during_its_ingest_leaks_nothing_into_a_new_project(
    app: LiveApp, http: ClientFactory
) -> None:
    owner = signed_up_client(http, "a9-owner@example.com")
    other = signed_up_client(http, "a9-other@example.com")
    doomed = owner.post("/api/v1/projects", json={"name": "Deleted"}).raise_for_status().json()["id"]
    archive = zip_of([(name, data) for name, _, data in dataset(per_class=4, seed=31)])

    # The ingest starts, then waits for the cache lock (as behind another ingest) while its project goes.
    with pixel_cache_held(app, doomed):
        job = owner.post(f"/api/v1/projects/{doomed}/uploads", files=[("files", ("a.zip", archive))]).json()
        wait_for(lambda: owner.get(f"/api/v1/jobs/{job['id']}").json()["state"] == "running", timeout=120)
        assert owner.delete(f"/api/v1/projects/{doomed}").status_code == 204
        fresh = other.post("/api/v1/projects", json={"name": "Fresh"}).raise_for_status().json()["id"]
    # The worker runs one job at a time: once a later ingest is done, the held one has ended.
    later = owner.post("/api/v1/projects", json={"name": "Later"}).raise_for_status().json()["id"]
    barrier = owner.post(f"/api/v1/projects/{later}/uploads", files=[("files", ("b.zip", archive))]).json()
    assert wait_job(owner, barrier["id"])["state"] == "succeeded"

    assert fresh > doomed
    assert owner.get(f"/api/v1/jobs/{job['id']}").status_code == 404
    assert other.get(f"/api/v1/projects/{fresh}").json()["image_count"] == 0
    assert other.get(f"/api/v1/projects/{fresh}/images").json()["total"] == 0
    assert _images_in_database(app, doomed) == 0
    assert not (app.data_dir / "storage" / "projects" / str(doomed)).exists()
