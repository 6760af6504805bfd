"""A useless model is shown as useless, and the review aids wait for a useful one.

The same shapes labeled twice: first with labels that disagree with the images (every label holds as
many circles as squares and triangles, so nothing in an image tells its label), then truthfully. The
first classifier is no better than guessing: the model says so (chance, majority baseline, reason) and
suspected mislabels and propagated labels are held back; the second is trusted and they come back.
The model also says how its backbone was pretrained (the pretrain job's outcome).
"""

from typing import Any

import httpx

from tests.api_client import ClientFactory, project_with_classes, signed_up_client, wait_for, wait_job
from tests.synthetic_images import CLASSES, dataset, zip_of

# From scratch on a 64-px cache: a weak backbone is what lets misleading labels look as bad as they are.
APP_ENV = {"LABELLIGHT_PRETRAINED": "false", "LABELLIGHT_CACHE_IMAGE_SIZE": "64"}
PER_CLASS = 12
LABELED_PER_CLASS = 9  # 3 of each shape under each label in the misleading labeling


def _get(client: httpx.Client, url: str) -> Any:
    return client.get(url).raise_for_status().json()


def _label_and_train(client: httpx.Client, pid: int, labels: dict[int, list[int]]) -> dict[str, Any]:
    for class_id, ids in labels.items():
        client.put(f"/api/v1/projects/{pid}/labels", json={"image_ids": ids, "class_id": class_id}).raise_for_status()
    job = wait_job(client, client.post(f"/api/v1/projects/{pid}/train").raise_for_status().json()["id"])
    assert job["state"] == "succeeded", job
    return _get(client, f"/api/v1/projects/{pid}/model")


def test_a_useless_classifier_is_not_trusted_and_review_aids_wait(clients: ClientFactory) -> None:
    client = signed_up_client(clients, "trust@example.com")
    pid, class_ids = project_with_classes(client, "Trust", CLASSES)
    images = dataset(per_class=PER_CLASS, seed=11)
    upload = client.post(f"/api/v1/projects/{pid}/uploads",
                         files=[("files", ("shapes.zip", zip_of([(n, d) for n, _, d in images])))])
    assert wait_job(client, upload.raise_for_status().json()["id"])["state"] == "succeeded"
    pretrain = wait_job(client, client.post(f"/api/v1/projects/{pid}/pretrain",
                                            json={"epochs": 1, "image_size": 16}).raise_for_status().json()["id"])
    assert pretrain["state"] == "succeeded", pretrain
    wait_for(lambda: _get(client, f"/api/v1/projects/{pid}")["backbone_version"] == 1)
    listing = _get(client, f"/api/v1/projects/{pid}/images?limit=1000")["items"]
    name_to_id = {i["filename"]: i["id"] for i in listing}
    by_kind = {k: [name_to_id[n] for n, kind, _ in images if kind == k][:LABELED_PER_CLASS] for k in CLASSES}

    # Before any classifier: nothing to trust, nothing suggested.
    model = _get(client, f"/api/v1/projects/{pid}/model")
    assert model["trust"]["trustworthy"] is False
    assert "no classifier" in model["trust"]["reason"]
    assert model["pretraining"] == {
        "backbone_version": 1, "job_id": pretrain["id"], "kept": pretrain["result"]["kept"],
        "start": pretrain["result"]["start"], "reason": pretrain["result"]["reason"], "finetuned_from": None}

    # Misleading labels: shape i of every kind goes to label i % 3.
    misleading: dict[int, list[int]] = {c: [] for c in class_ids.values()}
    for ids in by_kind.values():
        for i, image_id in enumerate(ids):
            misleading[class_ids[CLASSES[i % 3]]].append(image_id)
    model = _label_and_train(client, pid, misleading)
    trust = model["trust"]
    assert trust["trustworthy"] is False, trust
    assert (trust["chance"], trust["majority_baseline"], trust["n_scored"]) == (1 / 3, 1 / 3, 27)
    assert "better than" in trust["reason"]
    assert model["learning_curve"][-1]["chance"] == 1 / 3
    assert model["learning_curve"][-1]["majority_baseline"] == 1 / 3
    mislabels = _get(client, f"/api/v1/projects/{pid}/mislabels?limit=100")
    assert (mislabels["held_back"], mislabels["items"]) == (True, [])
    assert mislabels["trust"] == trust
    propagated = _get(client, f"/api/v1/projects/{pid}/propagated-labels?limit=100")
    assert (propagated["held_back"], propagated["items"]) == (True, [])
    assert _get(client, f"/api/v1/projects/{pid}/predictions/review")["trust"] == trust

    # The same images labeled truthfully: trusted, and the aids come back.
    model = _label_and_train(client, pid, {class_ids[k]: ids for k, ids in by_kind.items()})
    trust = model["trust"]
    assert trust["trustworthy"] is True, trust
    assert model["classifier"]["cv_accuracy"] > trust["majority_baseline"]
    assert trust["p_value"] <= 0.05
    assert "better than guessing" in trust["reason"]
    mislabels = _get(client, f"/api/v1/projects/{pid}/mislabels?limit=100")
    assert mislabels["held_back"] is False
    propagated = _get(client, f"/api/v1/projects/{pid}/propagated-labels?limit=100")
    assert propagated["held_back"] is False
    assert propagated["items"]
    labeled = {i for ids in by_kind.values() for i in ids}
    assert not {p["image"]["id"] for p in propagated["items"]} & labeled
