"""Fine-tuning backbone + head through the live app: refused until it can be cross-validated, then a
job that reports its progress and says which model it kept and why, with the project's model
versions following that decision: the linear head where fine-tuning cannot help, a new backbone
version (embedded, indexed, with its head) where it does."""

import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.api_client import ClientFactory, project_with_classes, signed_up_client, wait_for
from tests.synthetic_images import CLASSES, WHITE_SHAPES, dataset, encode, shape_image, white_shapes

FINAL = {"succeeded", "failed", "cancelled"}
# Fine-tuning a backbone BYOL-trained from scratch (a small fast network; version 1 comes from pretraining) on a
# 64-px cache: projects do not get the frozen ImageNet start here (tests/integration/test_loop.py covers it).
APP_ENV = {"LABELLIGHT_PRETRAINED": "false", "LABELLIGHT_CACHE_IMAGE_SIZE": "64"}


@dataclass(frozen=True)
class Project:
    client: httpx.Client
    pid: int
    class_ids: dict[str, int]
    images: dict[str, list[int]]  # class name -> image ids

    def finetune(self, **body: Any) -> httpx.Response:
        return self.client.post(f"/api/v1/projects/{self.pid}/finetune", json=body or None)

    def label(self, kind: str, image_ids: list[int]) -> None:
        self.client.put(f"/api/v1/projects/{self.pid}/labels",
                        json={"image_ids": image_ids, "class_id": self.class_ids[kind]}).raise_for_status()


def _wait(client: httpx.Client, job_id: int, timeout: float = 900) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The finished job and every distinct progress seen while it ran (a 60-epoch fine-tune on two shared
    CPU cores can take minutes: the limit only guards against a hang)."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}").raise_for_status().json()
        if job["state"] in FINAL:
            return job, seen
        if job["state"] == "running" and (not seen or seen[-1] != job["progress"]):
            seen.append(job["progress"])
        time.sleep(0.2)
    raise TimeoutError(f"job {job_id} did not finish in {timeout}s")


def _uploaded_and_pretrained(client: httpx.Client, pid: int, files: list[tuple[str, bytes]]) -> dict[str, int]:
    """Upload the files, pretrain a 1-epoch backbone at 16 px on them; image ids by file name."""
    upload = client.post(f"/api/v1/projects/{pid}/uploads", files=[("files", f) for f in files])
    assert _wait(client, upload.raise_for_status().json()["id"])[0]["state"] == "succeeded"
    pretrain = client.post(f"/api/v1/projects/{pid}/pretrain", json={"epochs": 1, "image_size": 16})
    assert _wait(client, pretrain.raise_for_status().json()["id"])[0]["state"] == "succeeded"
    wait_for(lambda: client.get(f"/api/v1/projects/{pid}").json()["backbone_version"] == 1)
    listing = client.get(f"/api/v1/projects/{pid}/images", params={"limit": 100}).json()["items"]
    return {i["filename"]: i["id"] for i in listing}


@pytest.fixture(scope="module")
def pretrained(clients: ClientFactory) -> Project:
    """18 images of 3 classes and a 1-epoch backbone at 16 px; nothing labeled yet."""
    client = signed_up_client(clients, "finetune@example.com")
    pid, class_ids = project_with_classes(client, "Finetune", CLASSES)
    images = dataset(per_class=6, seed=6)
    name_to_id = _uploaded_and_pretrained(client, pid, [(n, d) for n, _, d in images])
    by_class = {kind: [name_to_id[n] for n, k, _ in images if k == kind] for kind in CLASSES}
    return Project(client, pid, class_ids, by_class)


def test_finetune_is_refused_until_it_can_be_cross_validated(pretrained: Project, clients: ClientFactory) -> None:
    client = signed_up_client(clients, "finetune-early@example.com")
    pid, _ = project_with_classes(client, "No backbone", CLASSES)
    early = client.post(f"/api/v1/projects/{pid}/finetune")
    assert early.status_code == 409
    assert "pretrain first" in early.json()["detail"]

    circle, square = CLASSES[0], CLASSES[1]
    pretrained.label(circle, pretrained.images[circle][:3])
    one_class = pretrained.finetune()
    assert one_class.status_code == 409
    assert "at least two classes" in one_class.json()["detail"]
    pretrained.label(square, pretrained.images[square][:1])
    single = pretrained.finetune()
    assert single.status_code == 409
    assert f"label one more of {square}" in single.json()["detail"]

    for epochs in (0, 201, "many"):
        bad = pretrained.finetune(epochs=epochs)
        assert bad.status_code == 422, epochs
        assert "epochs" in str(bad.json()["detail"])
    stranger = signed_up_client(clients, "finetune-stranger@example.com")
    assert stranger.post(f"/api/v1/projects/{pretrained.pid}/finetune").status_code == 404


def test_finetune_job_reports_progress_and_ships_only_a_better_model(pretrained: Project) -> None:
    client, pid = pretrained.client, pretrained.pid
    for kind in CLASSES:
        pretrained.label(kind, pretrained.images[kind][:3])
    train = _wait(client, client.post(f"/api/v1/projects/{pid}/train").raise_for_status().json()["id"])[0]
    assert train["state"] == "succeeded", train
    before = client.get(f"/api/v1/projects/{pid}/model").json()

    started = pretrained.finetune(epochs=2)
    assert started.status_code == 202, started.text
    assert started.json()["kind"] == "finetune"
    again = pretrained.finetune()
    assert again.status_code == 409
    assert "already" in again.json()["detail"]
    job, seen = _wait(client, started.json()["id"])
    assert job["state"] == "succeeded", job

    training = [p for p in seen if p["stage"] == "cross-validate"]
    assert training, seen
    assert all(p["runs"] == 4 for p in training)  # 3 labels a class: 3 folds, then the final fine-tune
    fractions = [p["fraction"] for p in seen]
    assert fractions == sorted(fractions)
    assert job["progress"]["fraction"] == 1.0

    result = job["result"]
    assert result["kept"] in ("finetuned", "linear head")
    assert (result["n_labels"], result["n_folds"], result["epochs"]) == (9, 3, 2)
    assert 0.0 <= result["cv_accuracy_linear"] <= 1.0
    assert 0.0 <= result["cv_accuracy_finetuned"] <= 1.0
    assert f"{result['cv_accuracy_finetuned']:.3f} against {result['cv_accuracy_linear']:.3f}" in result["reason"]
    assert "same 3 folds of 9 labels" in result["reason"]

    after = client.get(f"/api/v1/projects/{pid}/model").json()
    query = encode(shape_image(CLASSES[2], 999_001))
    answer = client.post(f"/api/v1/projects/{pid}/predict", files=[("files", ("q.png", query))])
    assert answer.status_code == 200, answer.text
    if result["kept"] == "finetuned":
        assert result["cv_accuracy_finetuned"] > result["cv_accuracy_linear"]
        # "Helped" only when the fine-tuned model beats guessing.
        assert ("fine-tuning helped" in result["reason"]) == result["trustworthy"]
        assert (result["new_backbone_version"], result["classifier_version"]) == (2, 2)
        assert after["backbone_version"] == 2
        assert after["classifier"]["cv_accuracy"] == result["cv_accuracy_finetuned"]
        assert answer.json()["model_version"] == "b2.c2"
        similar = client.get(f"/api/v1/projects/{pid}/images/{pretrained.images[CLASSES[0]][0]}/similar")
        assert similar.json()["backbone_version"] == 2
    else:
        assert result["cv_accuracy_finetuned"] <= result["cv_accuracy_linear"]
        assert "did not help" in result["reason"]
        assert "new_backbone_version" not in result
        assert after == before
        assert answer.json()["model_version"] == "b1.c1"


def test_a_finetune_that_helps_ships_a_new_backbone_with_its_head(clients: ClientFactory) -> None:
    """White shapes on black, 10 labels a class: a near-random 1-epoch backbone leaves the linear head
    weak, 60 epochs of fine-tuning learn the shapes (cross-validated: 82.5% against 57.5%, 10 of the 40
    labels apart; the job is seeded, so it lands the same way each run)."""
    client = signed_up_client(clients, "finetune-kept@example.com")
    pid, class_ids = project_with_classes(client, "Finetune kept", WHITE_SHAPES)
    pixels, labels = white_shapes(40, side=48, seed=3)
    names = [f"{WHITE_SHAPES[k]}_{i:03d}.png" for i, k in enumerate(labels.tolist())]
    name_to_id = _uploaded_and_pretrained(
        client, pid, [(n, encode(Image.fromarray(p))) for n, p in zip(names, pixels, strict=True)])
    for kind in WHITE_SHAPES:
        ids = [name_to_id[n] for n in names if n.startswith(f"{kind}_")]
        client.put(f"/api/v1/projects/{pid}/labels",
                   json={"image_ids": ids, "class_id": class_ids[kind]}).raise_for_status()
    train = _wait(client, client.post(f"/api/v1/projects/{pid}/train").raise_for_status().json()["id"])[0]
    assert train["state"] == "succeeded", train

    started = client.post(f"/api/v1/projects/{pid}/finetune", json={"epochs": 60})
    assert started.status_code == 202, started.text
    job, seen = _wait(client, started.json()["id"])
    assert job["state"] == "succeeded", job
    result = job["result"]
    assert result["kept"] == "finetuned", result
    assert result["cv_accuracy_finetuned"] > result["cv_accuracy_linear"]
    assert "fine-tuning helped" in result["reason"]
    assert result["trustworthy"] is True
    assert result["majority_baseline"] == 0.25
    assert (result["new_backbone_version"], result["classifier_version"]) == (2, 2)
    stages = [p["stage"] for p in seen]
    assert stages.index("cross-validate") < stages.index("finetune"), stages
    assert [p["fraction"] for p in seen] == sorted(p["fraction"] for p in seen)

    # The new backbone is the project's: its head is the model, its embeddings serve search and prediction.
    model = client.get(f"/api/v1/projects/{pid}/model").json()
    assert model["backbone_version"] == 2
    assert model["classifier"]["cv_accuracy"] == result["cv_accuracy_finetuned"]
    first = name_to_id[names[0]]
    similar = client.get(f"/api/v1/projects/{pid}/images/{first}/similar").raise_for_status().json()
    assert similar["backbone_version"] == 2
    query = encode(Image.fromarray(white_shapes(1, side=48, seed=99)[0][0]))
    answer = client.post(f"/api/v1/projects/{pid}/predict", files=[("files", ("q.png", query))])
    assert answer.status_code == 200, answer.text
    assert answer.json()["model_version"] == "b2.c2"
    assert model["classifier"]["cv_scope"] == "out-of-fold predictions of the fine-tune that made backbone 2"

    # Backbone 2 has seen every label, so a head retrained on it cannot score them out-of-fold: it carries
    # the fine-tune's estimate until labels the backbone never saw arrive, then scores only those.
    carried = _train(client, pid)
    assert carried["cv_accuracy"] == result["cv_accuracy_finetuned"]
    assert carried["cv_scope"].startswith("the fine-tune's cross-validation: backbone 2 was fine-tuned on 40 of")
    assert carried["metrics"] == model["classifier"]["metrics"]
    new_pixels, new_labels = white_shapes(12, side=48, seed=4)
    new_names = [f"new_{WHITE_SHAPES[k]}_{i:03d}.png" for i, k in enumerate(new_labels.tolist())]
    more = client.post(f"/api/v1/projects/{pid}/uploads", files=[
        ("files", (n, encode(Image.fromarray(p)))) for n, p in zip(new_names, new_pixels, strict=True)])
    assert _wait(client, more.raise_for_status().json()["id"])[0]["state"] == "succeeded"
    wait_for(lambda: all(j["state"] in FINAL for j in client.get(f"/api/v1/projects/{pid}/jobs").json()))
    listing = client.get(f"/api/v1/projects/{pid}/images", params={"limit": 100}).json()["items"]
    name_to_id = {i["filename"]: i["id"] for i in listing}
    for kind in WHITE_SHAPES:
        ids = [name_to_id[n] for n in new_names if n.startswith(f"new_{kind}_")]
        client.put(f"/api/v1/projects/{pid}/labels",
                   json={"image_ids": ids, "class_id": class_ids[kind]}).raise_for_status()
    fresh = _train(client, pid)
    assert fresh["cv_scope"] == "the 12 labels added since backbone 2 was fine-tuned on the other 40"
    assert fresh["n_labels"] == 52
    assert sum(fresh["metrics"]["support"]) == 12
    assert fresh["cv_accuracy"] == fresh["metrics"]["accuracy"]


def _train(client: httpx.Client, pid: int) -> dict[str, Any]:
    """Train the classifier; the project's new classifier."""
    job = _wait(client, client.post(f"/api/v1/projects/{pid}/train").raise_for_status().json()["id"])[0]
    assert job["state"] == "succeeded", job
    classifier: dict[str, Any] = client.get(f"/api/v1/projects/{pid}/model").json()["classifier"]
    assert classifier["version"] == job["result"]["classifier_version"]
    assert classifier["cv_scope"] == job["result"]["cv_scope"]
    return classifier
