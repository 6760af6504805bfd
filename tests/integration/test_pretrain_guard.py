"""The pretrain job's guard decides on the project's labels, and keeping the start ships nothing new."""

from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image

from tests.api_client import ClientFactory, project_with_classes, signed_up_client, wait_for, wait_job
from tests.live_app import LiveApp, live_app
from tests.synthetic_images import encode, zip_of

# Projects start from scratch with a small cache: the runs are about the guard, on a small fast network.
SCRATCH = {"LABELLIGHT_PRETRAINED": "false", "LABELLIGHT_CACHE_IMAGE_SIZE": "32"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    with live_app(tmp_path_factory.mktemp("labellight-guard"), SCRATCH) as live:
        yield live


def _dark_and_bright(per_class: int) -> list[tuple[str, bytes]]:
    """Near-black and near-white images (a few noisy pixels each, so none is a duplicate): any network
    tells them apart, so both backbones classify them perfectly and the guard sees a tie."""
    rng = np.random.default_rng(3)
    files = []
    for name, level in (("dark", 10), ("bright", 245)):
        for i in range(per_class):
            pixels = np.full((32, 32, 3), level, np.uint8)
            pixels[rng.integers(0, 32, 4), rng.integers(0, 32, 4)] = rng.integers(0, 256, (4, 3))
            files.append((f"{name}-{i}.png", encode(Image.fromarray(pixels))))
    return files


def test_a_start_kept_on_the_labels_ships_no_identical_version(app: LiveApp, http: ClientFactory) -> None:
    client = signed_up_client(http, "guard@example.com")
    pid, classes = project_with_classes(client, "Guard", ["dark", "bright"])
    upload = client.post(f"/api/v1/projects/{pid}/uploads",
                         files=[("files", ("a.zip", zip_of(_dark_and_bright(8))))]).json()
    assert wait_job(client, upload["id"])["state"] == "succeeded"
    first = client.post(f"/api/v1/projects/{pid}/pretrain", json={"epochs": 1, "image_size": 32}).json()
    assert wait_job(client, first["id"], timeout=900)["state"] == "succeeded"
    wait_for(lambda: client.get(f"/api/v1/projects/{pid}").json()["backbone_version"] == 1, timeout=600)
    for image in client.get(f"/api/v1/projects/{pid}/images").json()["items"]:
        name = image["filename"].split("-")[0]
        client.put(f"/api/v1/projects/{pid}/labels", json={"image_ids": [image["id"]], "class_id": classes[name]})

    job = client.post(f"/api/v1/projects/{pid}/pretrain", json={"start": "previous", "epochs": 1}).json()
    done = wait_job(client, job["id"], timeout=900)
    assert done["state"] == "succeeded", done
    result = done["result"]
    assert result["guard"] == "labels"
    assert result["kept"] == "initial", result
    assert "100.0% with the starting backbone, 100.0% with the trained one" in result["reason"]
    assert result["shipped"] is False
    assert result["backbone_version"] == 1
    assert "keeps backbone version 1" in result["reason"]
    assert result["stop_reason"].startswith("planned epochs done")
    jobs = client.get(f"/api/v1/projects/{pid}/jobs").json()
    assert not [j for j in jobs if j["kind"] == "embed" and j["created_at"] > done["created_at"]]
    assert client.get(f"/api/v1/projects/{pid}").json()["backbone_version"] == 1
