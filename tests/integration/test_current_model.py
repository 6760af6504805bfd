"""One current model: the backbone and the classifier move together. A new backbone is served (model page,
predictions, search, map, review) only once a classifier is trained on it, which the app queues by itself
after the backbone's embed job when labels exist; until then the previous pair stays served."""

from typing import Any

import httpx

from tests.api_client import ClientFactory, project_with_classes, signed_up_client, wait_for, wait_job
from tests.synthetic_images import CLASSES, dataset, encode, shape_image

# Small fast backbones BYOL-trained from scratch on a 64-px cache (no frozen ImageNet start: versions start at 1).
APP_ENV = {"LABELLIGHT_PRETRAINED": "false", "LABELLIGHT_CACHE_IMAGE_SIZE": "64"}


def _served(client: httpx.Client, pid: int, image_id: int) -> dict[str, Any]:
    """The model version each part of the app names: the model page, prediction, search, map and review."""
    model = client.get(f"/api/v1/projects/{pid}/model").raise_for_status().json()
    query = encode(shape_image(CLASSES[0], 999_123))
    predicted = client.post(f"/api/v1/projects/{pid}/predict", files=[("files", ("q.png", query))])
    similar = client.get(f"/api/v1/projects/{pid}/images/{image_id}/similar", params={"k": 3})
    by_upload = client.post(f"/api/v1/projects/{pid}/search", params={"k": 3}, files={"file": ("q.png", query)})
    review = client.get(f"/api/v1/projects/{pid}/predictions/review", params={"limit": 5})
    project = client.get(f"/api/v1/projects/{pid}").raise_for_status().json()
    return {
        "model": model["model_version"],
        "model page backbone": model["backbone_version"],
        "predict": predicted.raise_for_status().json()["model_version"],
        "similar backbone": similar.raise_for_status().json()["backbone_version"],
        "search backbone": by_upload.raise_for_status().json()["backbone_version"],
        "map backbone": client.get(f"/api/v1/projects/{pid}/map").raise_for_status().json()["backbone_version"],
        "review": review.raise_for_status().json()["model_version"],
        "project": f"b{project['backbone_version']}.c{project['classifier_version']}",
        "pending": model["pending_backbone_version"],
    }


def _all_name(pair: str, pending: int | None) -> dict[str, Any]:
    backbone = int(pair[1:pair.index(".")])
    return {"model": pair, "model page backbone": backbone, "predict": pair, "similar backbone": backbone,
            "search backbone": backbone, "map backbone": backbone, "review": pair, "project": pair,
            "pending": pending}


def _pretrain(client: httpx.Client, pid: int) -> int:
    """A 1-epoch pretraining at 16 px; the new backbone's version once its embed job is done."""
    job = client.post(f"/api/v1/projects/{pid}/pretrain", json={"epochs": 1, "image_size": 16, "start": "scratch"})
    done = wait_job(client, job.raise_for_status().json()["id"], timeout=900)
    assert done["state"] == "succeeded", done
    version: int = done["result"]["backbone_version"]
    wait_for(lambda: any(j["kind"] == "embed" and j["state"] == "succeeded" and j["result"]["backbone_version"]
                         == version for j in client.get(f"/api/v1/projects/{pid}/jobs").json()), timeout=600)
    return version


def _jobs(client: httpx.Client, pid: int, kind: str) -> list[dict[str, Any]]:
    return [j for j in client.get(f"/api/v1/projects/{pid}/jobs").raise_for_status().json() if j["kind"] == kind]


def test_a_new_backbone_is_served_only_with_a_classifier_trained_on_it(clients: ClientFactory) -> None:
    client = signed_up_client(clients, "current-model@example.com")
    pid, class_ids = project_with_classes(client, "Current model", CLASSES)
    images = dataset(per_class=6, seed=11)
    upload = client.post(f"/api/v1/projects/{pid}/uploads", files=[("files", (n, d)) for n, _, d in images])
    assert wait_job(client, upload.raise_for_status().json()["id"])["state"] == "succeeded"
    assert _pretrain(client, pid) == 1
    listing = client.get(f"/api/v1/projects/{pid}/images", params={"limit": 100}).json()["items"]
    name_to_id = {i["filename"]: i["id"] for i in listing}
    by_class = {kind: [name_to_id[n] for n, k, _ in images if k == kind][:3] for kind in CLASSES}
    for kind, ids in by_class.items():
        client.put(f"/api/v1/projects/{pid}/labels",
                   json={"image_ids": ids, "class_id": class_ids[kind]}).raise_for_status()
    train = wait_job(client, client.post(f"/api/v1/projects/{pid}/train").raise_for_status().json()["id"])
    assert train["state"] == "succeeded", train
    some = by_class[CLASSES[0]][0]

    # A fine-tune either ships a backbone with its own head or keeps the linear head: one pair either way.
    finetune = client.post(f"/api/v1/projects/{pid}/finetune", json={"epochs": 2}).raise_for_status().json()
    finetune = wait_job(client, finetune["id"], timeout=900)
    assert finetune["state"] == "succeeded", finetune
    pair = "b2.c2" if finetune["result"]["kept"] == "finetuned" else "b1.c1"
    assert _served(client, pid, some) == _all_name(pair, None)

    # A new pretraining: its backbone gets a classifier by itself, and everything moves to the new pair.
    trains_before = len(_jobs(client, pid, "train"))
    version = _pretrain(client, pid)
    def new_trains() -> list[dict[str, Any]]:
        trains = _jobs(client, pid, "train")  # newest first
        return [j for j in trains[:len(trains) - trains_before] if j["state"] in ("succeeded", "failed", "cancelled")]

    automatic = wait_for(new_trains, timeout=600)[0]
    assert automatic["state"] == "succeeded", automatic
    assert automatic["result"]["backbone_version"] == version
    pair = f"b{version}.c{automatic['result']['classifier_version']}"
    assert _served(client, pid, some) == _all_name(pair, None)

    # With labels of one class left no classifier can be trained: the next backbone waits, and the served pair
    # stays the previous one everywhere, the model page naming the waiting backbone.
    for kind in CLASSES[1:]:
        client.put(f"/api/v1/projects/{pid}/labels", json={"image_ids": by_class[kind], "class_id": None})
    trains_before = len(_jobs(client, pid, "train"))
    waiting = _pretrain(client, pid)
    assert len(_jobs(client, pid, "train")) == trains_before
    assert _served(client, pid, some) == _all_name(pair, waiting)

    # Labels of two classes again and a training by hand: the waiting backbone is served with its classifier.
    client.put(f"/api/v1/projects/{pid}/labels", json={"image_ids": by_class[CLASSES[1]],
                                                      "class_id": class_ids[CLASSES[1]]}).raise_for_status()
    train = wait_job(client, client.post(f"/api/v1/projects/{pid}/train").raise_for_status().json()["id"])
    assert train["state"] == "succeeded", train
    assert train["result"]["backbone_version"] == waiting
    assert _served(client, pid, some) == _all_name(f"b{waiting}.c{train['result']['classifier_version']}", None)
