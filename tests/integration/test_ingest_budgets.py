"""A10: an import is held to the images its owner may still keep and to a byte budget; what does not fit is
rejected file by file with a reason that names the setting, and the rest of the import goes in."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api_client import file_report, project_with_classes, signed_up_client, wait_job
from tests.live_app import LiveApp, live_app
from tests.synthetic_images import encode, noise_image

LIMITS = {"LABELLIGHT_MAX_IMAGES_PER_USER": "3", "LABELLIGHT_MAX_INGEST_BYTES": "60000",
          "LABELLIGHT_PRETRAINED": "false"}


@pytest.fixture(scope="module")
def budgeted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    data_dir: Path = tmp_path_factory.mktemp("labellight-budgets")
    with live_app(data_dir, LIMITS) as app:
        yield app


@pytest.fixture
def client(budgeted: LiveApp, request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    made: list[httpx.Client] = []

    def make(**kwargs: object) -> httpx.Client:
        made.append(httpx.Client(base_url=budgeted.base_url, timeout=120, **kwargs))  # type: ignore[arg-type]
        return made[-1]

    yield signed_up_client(make, f"{request.node.name.replace('_', '-')[:60]}@example.com")
    for c in made:
        c.close()


def _ingest(client: httpx.Client, pid: int, files: list[tuple[str, bytes]]) -> tuple[dict, list[dict]]:
    job = wait_job(client, client.post(f"/api/v1/projects/{pid}/uploads",
                                       files=[("files", f) for f in files]).raise_for_status().json()["id"])
    assert job["state"] == "succeeded", job
    return job["result"], file_report(client, job["id"])


def test_a10_images_per_user_are_capped_across_projects(client: httpx.Client) -> None:
    first, _ = project_with_classes(client, "First", ["a"])
    result, _ = _ingest(client, first, [(f"{i}.png", encode(noise_image(16, seed=i))) for i in range(2)])
    assert result["accepted"] == 2
    second, _ = project_with_classes(client, "Second", ["a"])
    result, report = _ingest(client, second, [(f"{i}.png", encode(noise_image(16, seed=i))) for i in range(2, 5)])
    assert (result["accepted"], result["rejected"]) == (1, 2)
    assert all("LABELLIGHT_MAX_IMAGES_PER_USER=3" in e["reason"] for e in report if e["status"] == "rejected")
    assert client.get(f"/api/v1/projects/{second}").json()["image_count"] == 1


def test_a10_one_import_has_a_byte_budget(client: httpx.Client) -> None:
    pid, _ = project_with_classes(client, "Bytes", ["a"])
    big, small, later = (encode(noise_image(side, seed=seed)) for side, seed in ((160, 1), (16, 2), (16, 3)))
    assert len(big) > 60000 > len(small) + len(later)
    result, report = _ingest(client, pid, [("small.png", small), ("big.png", big), ("later.png", later)])
    statuses = {e["name"]: (e["status"], e.get("reason") or "") for e in report}
    assert statuses["big.png"][0] == "rejected"
    assert "LABELLIGHT_MAX_INGEST_BYTES=60000" in statuses["big.png"][1]
    assert (statuses["small.png"][0], statuses["later.png"][0]) == ("accepted", "accepted")
    assert (result["accepted"], result["rejected"]) == (2, 1)
