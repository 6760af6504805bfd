"""Reviewing the classifier's guesses over HTTP: unlabeled images by confidence, filtered by class and paged,
and the project's last activity following uploads and labels."""

from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.api_client import ClientFactory, signed_up_client, wait_for, wait_job
from tests.live_app import LiveApp
from tests.synthetic_images import CLASSES, dataset, zip_of

# The review page reads stored embeddings and the head: nothing database-specific, so embedded mode is enough.
pytestmark = pytest.mark.parametrize("app", ["embedded"], indirect=True)

# Review aids on a backbone BYOL-trained from scratch (version 1 comes from pretraining): projects do not
# get the frozen ImageNet start here (tests/integration/test_loop.py covers it).
APP_ENV = {"LABELLIGHT_PRETRAINED": "false"}
PER_CLASS = 8
LABELED_PER_CLASS = 3


def _review(client: httpx.Client, pid: int, **query: Any) -> httpx.Response:
    return client.get(f"/api/v1/projects/{pid}/predictions/review", params=query)


def _last_activity(client: httpx.Client, pid: int) -> datetime:
    listed = client.get("/api/v1/projects").raise_for_status().json()
    return datetime.fromisoformat(next(p for p in listed if p["id"] == pid)["last_activity_at"])


def test_review_lists_unlabeled_guesses_by_confidence(app: LiveApp, http: ClientFactory) -> None:
    client = signed_up_client(http, "review@example.com")
    project = client.post("/api/v1/projects", json={"name": "Review"}).raise_for_status().json()
    pid = project["id"]
    assert datetime.fromisoformat(project["last_activity_at"]) == datetime.fromisoformat(project["created_at"])
    class_ids = {k: client.post(f"/api/v1/projects/{pid}/classes", json={"name": k}).raise_for_status().json()["id"]
                 for k in CLASSES}

    none_yet = _review(client, pid)
    assert none_yet.status_code == 409
    assert "no classifier" in none_yet.json()["detail"]

    images = dataset(per_class=PER_CLASS, seed=5)
    upload = client.post(f"/api/v1/projects/{pid}/uploads",
                         files=[("files", ("shapes.zip", zip_of([(n, d) for n, _, d in images])))])
    assert wait_job(client, upload.raise_for_status().json()["id"])["state"] == "succeeded"
    after_upload = _last_activity(client, pid)
    assert after_upload > datetime.fromisoformat(project["created_at"])

    job = client.post(f"/api/v1/projects/{pid}/pretrain", json={"epochs": 2}).raise_for_status().json()
    assert wait_job(client, job["id"])["state"] == "succeeded"
    wait_for(lambda: client.get(f"/api/v1/projects/{pid}").json()["backbone_version"] == 1)
    listing = client.get(f"/api/v1/projects/{pid}/images", params={"limit": 1000}).json()["items"]
    name_to_id = {i["filename"]: i["id"] for i in listing}
    labeled: set[int] = set()
    for kind in CLASSES:
        ids = [name_to_id[n] for n, k, _ in images if k == kind][:LABELED_PER_CLASS]
        client.put(f"/api/v1/projects/{pid}/labels", json={"image_ids": ids, "class_id": class_ids[kind]})
        labeled |= set(ids)
    assert wait_job(client, client.post(f"/api/v1/projects/{pid}/train").raise_for_status().json()["id"])[
        "state"] == "succeeded"

    # Every unlabeled image once, lowest confidence first; the guess is the top class.
    everything = _review(client, pid, limit=500).raise_for_status().json()
    unlabeled = len(images) - len(labeled)
    assert everything["model_version"] == "b1.c1"
    assert everything["total"] == unlabeled
    items = everything["items"]
    assert {i["image"]["id"] for i in items} == set(name_to_id.values()) - labeled
    assert all(i["image"]["class_id"] is None for i in items)
    confidences = [i["confidence"] for i in items]
    assert confidences == sorted(confidences)
    for item in items:
        top = item["top"]
        assert len(top) == 3
        assert top[0] == {"class_id": item["class_id"], "probability": item["confidence"]}
        assert [t["probability"] for t in top] == sorted((t["probability"] for t in top), reverse=True)
        assert {t["class_id"] for t in top} == set(class_ids.values())
        assert 1 / 3 <= item["confidence"] <= 1.0

    descending = _review(client, pid, order="desc", limit=500).json()["items"]
    assert [i["confidence"] for i in descending] == sorted(confidences, reverse=True)

    # Pages follow each other without overlap.
    paged = [i["image"]["id"] for offset in range(0, unlabeled, 4)
             for i in _review(client, pid, offset=offset, limit=4).json()["items"]]
    assert paged == [i["image"]["id"] for i in items]
    assert _review(client, pid, offset=unlabeled, limit=4).json() == {**everything, "items": []}

    # Filtered by class: only that class's guesses; the classes together cover every unlabeled image.
    per_class = {cid: _review(client, pid, class_id=cid, limit=500).json() for cid in class_ids.values()}
    for cid, found in per_class.items():
        assert all(i["class_id"] == cid for i in found["items"])
        assert found["total"] == len(found["items"])
    assert sum(found["total"] for found in per_class.values()) == unlabeled

    # Confirming a guess labels the image: it leaves the review and counts as activity.
    guess = items[0]
    before = _last_activity(client, pid)
    client.put(f"/api/v1/projects/{pid}/labels",
               json={"image_ids": [guess["image"]["id"]], "class_id": guess["class_id"]}).raise_for_status()
    after = _review(client, pid, limit=500).json()
    assert after["total"] == unlabeled - 1
    assert guess["image"]["id"] not in {i["image"]["id"] for i in after["items"]}
    assert _last_activity(client, pid) > before

    # Bad requests say what to fix; another user's project does not exist.
    assert _review(client, pid, order="sideways").status_code == 422
    assert _review(client, pid, limit=0).status_code == 422
    assert _review(client, pid, offset=-1).status_code == 422
    unknown_class = _review(client, pid, class_id=999_999)
    assert unknown_class.status_code == 404
    assert "class 999999" in unknown_class.json()["detail"]
    stranger = signed_up_client(http, "stranger@example.com")
    assert _review(stranger, pid).status_code == 404
