"""Model export through the live app: the downloaded ONNX and TorchScript files answer like /predict;
seeded suggestions that leave out skipped images."""

import io
import warnings
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import onnxruntime
import pytest
import torch

from labellight.ml.export import JIT_DEPRECATION
from tests.api_client import ClientFactory, project_with_classes, signed_up_client, wait_for, wait_job
from tests.synthetic_images import CLASSES, dataset, encode, shape_image

TOLERANCE = 1e-4
# Exports of a backbone BYOL-trained from scratch (a small fast network; version 1 comes from pretraining):
# projects do not get the frozen ImageNet start here (tests/integration/test_loop.py covers it).
APP_ENV = {"LABELLIGHT_PRETRAINED": "false"}


@dataclass(frozen=True)
class TrainedProject:
    client: httpx.Client
    pid: int
    class_ids: dict[str, int]
    labeled: set[int]


@pytest.fixture(scope="module")
def trained(clients: ClientFactory) -> TrainedProject:
    """A project with 18 images, a 1-epoch backbone and a classifier trained on 4 labels per class."""
    client = signed_up_client(clients, "export@example.com")
    pid, class_ids = project_with_classes(client, "Export", CLASSES)
    images = dataset(per_class=6, seed=4)
    upload = client.post(f"/api/v1/projects/{pid}/uploads", files=[("files", (n, d)) for n, _, d in images])
    assert wait_job(client, upload.raise_for_status().json()["id"])["state"] == "succeeded"
    pretrain = client.post(f"/api/v1/projects/{pid}/pretrain", json={"epochs": 1}).raise_for_status().json()
    assert wait_job(client, pretrain["id"])["state"] == "succeeded"
    wait_for(lambda: client.get(f"/api/v1/projects/{pid}").json()["backbone_version"] == 1)
    listing = client.get(f"/api/v1/projects/{pid}/images", params={"limit": 100}).json()["items"]
    name_to_id = {i["filename"]: i["id"] for i in listing}
    labeled: set[int] = set()
    for kind in CLASSES:
        ids = [name_to_id[n] for n, k, _ in images if k == kind][:4]
        client.put(f"/api/v1/projects/{pid}/labels", json={"image_ids": ids, "class_id": class_ids[kind]})
        labeled.update(ids)
    train = wait_job(client, client.post(f"/api/v1/projects/{pid}/train").raise_for_status().json()["id"])
    assert train["state"] == "succeeded", train
    return TrainedProject(client, pid, class_ids, labeled)


def _export(project: TrainedProject, fmt: str) -> tuple[dict[str, Any], httpx.Response]:
    client, pid = project.client, project.pid
    response = client.post(f"/api/v1/projects/{pid}/model/export", params={"format": fmt})
    assert response.status_code == 202, response.text
    job = response.json()
    assert (job["kind"], job["project_id"]) == ("export", pid)
    # Exporting takes seconds: asked at once, the download is not there yet.
    early = client.get(f"/api/v1/projects/{pid}/model/export/{job['id']}")
    assert early.status_code == 409, early.text
    assert "once it has succeeded" in early.json()["detail"]
    job = wait_job(client, job["id"])
    assert job["state"] == "succeeded", job
    download = client.get(f"/api/v1/projects/{pid}/model/export/{job['id']}")
    assert download.status_code == 200, download.text
    return job, download


def _run_onnx(data: bytes, x: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    (probs,) = session.run(None, {session.get_inputs()[0].name: x})
    return np.asarray(probs)


def _run_torchscript(data: bytes, x: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():  # TorchScript is deprecated upstream; loading still works
        warnings.filterwarnings("ignore", message=JIT_DEPRECATION, category=FutureWarning)
        module = torch.jit.load(io.BytesIO(data))
    with torch.no_grad():
        return np.asarray(module(torch.from_numpy(x)).numpy())


RUNNERS = {"onnx": _run_onnx, "torchscript": _run_torchscript}
SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt"}


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_downloaded_model_gives_the_probabilities_of_predict(trained: TrainedProject, fmt: str) -> None:
    job, download = _export(trained, fmt)
    result = job["result"]
    size = result["input"]["size"][0]
    assert result["input"] == {"layout": "NCHW", "size": [size, size], "dtype": "float32", "range": [0.0, 1.0]}
    assert (result["format"], result["model_version"]) == (fmt, "b1.c1")
    assert sorted(result["classes"]) == sorted(CLASSES)
    filename = f"labellight-p{trained.pid}-b1.c1{SUFFIXES[fmt]}"
    assert result["filename"] == filename
    assert download.headers["content-disposition"] == f'attachment; filename="{filename}"'
    assert len(download.content) == result["bytes"] > 10_000

    # Query images at the input size: the documented preprocessing is then just a scale to [0, 1].
    queries = [shape_image(kind, 777_000 + i, size=size) for i, kind in enumerate(CLASSES)]
    answer = trained.client.post(f"/api/v1/projects/{trained.pid}/predict", params={"top_k": len(CLASSES)},
                                 files=[("files", (f"q{i}.png", encode(q))) for i, q in enumerate(queries)])
    assert answer.status_code == 200, answer.text
    columns = [trained.class_ids[name] for name in result["classes"]]
    served = np.array([[{s["class_id"]: s["probability"] for s in p["top_k"]}[c] for c in columns]
                       for p in answer.json()["predictions"]])
    x = np.stack([np.asarray(q, dtype=np.float32).transpose(2, 0, 1) / np.float32(255.0) for q in queries])
    exported = RUNNERS[fmt](download.content, x)
    np.testing.assert_allclose(exported, served, atol=TOLERANCE)


def test_export_needs_a_classifier_and_a_known_format(clients: ClientFactory) -> None:
    client = signed_up_client(clients, "export-early@example.com")
    pid, _ = project_with_classes(client, "Untrained", CLASSES)
    before = client.post(f"/api/v1/projects/{pid}/model/export", params={"format": "onnx"})
    assert before.status_code == 409
    assert "no classifier yet" in before.json()["detail"]
    unknown = client.post(f"/api/v1/projects/{pid}/model/export", params={"format": "pickle"})
    assert unknown.status_code == 422
    assert "onnx" in str(unknown.json()["detail"])
    assert client.post(f"/api/v1/projects/{pid}/model/export").status_code == 422


def test_export_download_is_only_for_its_owner_and_export_jobs(trained: TrainedProject, clients: ClientFactory) -> None:
    client, pid = trained.client, trained.pid
    job = wait_job(client, client.post(f"/api/v1/projects/{pid}/model/export",
                                       params={"format": "onnx"}).raise_for_status().json()["id"])
    assert client.get(f"/api/v1/projects/{pid}/model/export/{job['id']}").status_code == 200
    train_job = next(j for j in client.get(f"/api/v1/projects/{pid}/jobs").json() if j["kind"] == "train")
    assert client.get(f"/api/v1/projects/{pid}/model/export/{train_job['id']}").status_code == 404
    assert client.get(f"/api/v1/projects/{pid}/model/export/999999").status_code == 404
    stranger = signed_up_client(clients, "export-stranger@example.com")
    assert stranger.get(f"/api/v1/projects/{pid}/model/export/{job['id']}").status_code == 404
    assert stranger.post(f"/api/v1/projects/{pid}/model/export", params={"format": "onnx"}).status_code == 404
    other_pid, _ = project_with_classes(stranger, "Elsewhere", CLASSES)
    assert stranger.get(f"/api/v1/projects/{other_pid}/model/export/{job['id']}").status_code == 404


def _suggested(project: TrainedProject, **params: Any) -> list[int]:
    response = project.client.get(f"/api/v1/projects/{project.pid}/suggestions", params=params)
    assert response.status_code == 200, response.text
    return [s["image"]["id"] for s in response.json()["items"]]


def test_suggestions_take_a_seed_and_leave_out_excluded_images(trained: TrainedProject) -> None:
    for strategy in ("random", "cold_start", "k_center", "probcover", "hybrid", "margin"):
        first = _suggested(trained, strategy=strategy, count=4, seed=3)
        assert first == _suggested(trained, strategy=strategy, count=4, seed=3), strategy
        skipped = first[:2]
        again = _suggested(trained, strategy=strategy, count=4, seed=3, exclude=",".join(map(str, skipped)))
        assert len(again) == 4, strategy
        assert not set(again) & set(skipped), strategy
        assert not set(again) & trained.labeled, strategy
    draws = {tuple(sorted(_suggested(trained, strategy="random", count=3, seed=s))) for s in range(4)}
    assert len(draws) > 1
    for bad, message in (({"exclude": "1,x"}, "exclude must be comma-separated integers"),
                         ({"exclude": "-4"}, "positive"), ({"seed": -1}, "greater than or equal to 0")):
        response = trained.client.get(f"/api/v1/projects/{trained.pid}/suggestions", params=bad)
        assert response.status_code == 422, bad
        assert message in str(response.json()["detail"]), response.json()


def test_a10_the_same_export_is_made_once(trained: TrainedProject) -> None:
    client, pid = trained.client, trained.pid
    first = wait_job(client, client.post(f"/api/v1/projects/{pid}/model/export",
                                         params={"format": "torchscript"}).raise_for_status().json()["id"])
    again = client.post(f"/api/v1/projects/{pid}/model/export", params={"format": "torchscript"})
    assert again.status_code == 202
    assert again.json()["id"] == first["id"]
    other_format = client.post(f"/api/v1/projects/{pid}/model/export", params={"format": "onnx"}).json()
    assert other_format["id"] != first["id"]
