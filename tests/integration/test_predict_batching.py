"""Concurrent /predict and /search requests share forward passes (counted by the server's own metrics) and
answer exactly what the same requests answer one at a time."""

import re
import threading
from typing import Any

import httpx

from tests.api_client import ClientFactory, project_with_classes, signed_up_client, wait_for, wait_job
from tests.live_app import LiveApp
from tests.synthetic_images import CLASSES, dataset, encode, shape_image

# A batch runs once it holds 2 images from each of the 6 concurrent requests, or after a second.
APP_ENV = {"LABELLIGHT_INFERENCE_BATCH_WAIT_MS": "1000", "LABELLIGHT_INFERENCE_MAX_BATCH": "12",
           "LABELLIGHT_INFERENCE_REQUESTS_PER_MINUTE": "10000"}
CONCURRENT = 6


def _passes(client: httpx.Client) -> float:
    text = client.get("/metrics").raise_for_status().text
    found = re.search(r"^labellight_inference_forward_passes_total (\S+)$", text, re.MULTILINE)
    assert found, "no forward-pass counter in /metrics"
    return float(found.group(1))


def _concurrently(send: Any, count: int) -> list[dict[str, Any]]:
    answers: list[Any] = [None] * count
    start = threading.Barrier(count)

    def one(i: int) -> None:
        start.wait()
        answers[i] = send(i)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert all(isinstance(a, dict) for a in answers), answers
    return answers


def _same_prediction(together: dict[str, Any], alone: dict[str, Any]) -> None:
    assert together["model_version"] == alone["model_version"]
    for mine, reference in zip(together["predictions"], alone["predictions"], strict=True):
        assert mine["filename"] == reference["filename"]
        assert [c["class_id"] for c in mine["top_k"]] == [c["class_id"] for c in reference["top_k"]]
        for a, b in zip(mine["top_k"], reference["top_k"], strict=True):
            assert abs(a["probability"] - b["probability"]) < 1e-4
        assert [e["image_id"] for e in mine["evidence"]] == [e["image_id"] for e in reference["evidence"]]
        assert abs(mine["nearest_distance"] - reference["nearest_distance"]) < 1e-4


def test_concurrent_predictions_share_forward_passes_and_match_one_at_a_time(app: LiveApp,
                                                                               http: ClientFactory) -> None:
    client = signed_up_client(http, "batching@example.com")
    pid, class_ids = project_with_classes(client, "Batching", CLASSES)
    images = dataset(per_class=6)
    upload = client.post(f"/api/v1/projects/{pid}/uploads", files=[("files", (n, d)) for n, _, d in images])
    assert wait_job(client, upload.raise_for_status().json()["id"])["state"] == "succeeded"
    wait_for(lambda: client.get(f"/api/v1/projects/{pid}").json()["backbone_version"] == 1)  # the frozen start
    listing = client.get(f"/api/v1/projects/{pid}/images", params={"limit": 100}).json()["items"]
    for kind in CLASSES:
        ids = [i["id"] for i in listing if i["filename"].startswith(kind)][:3]
        client.put(f"/api/v1/projects/{pid}/labels", json={"image_ids": ids, "class_id": class_ids[kind]})
    assert wait_job(client, client.post(f"/api/v1/projects/{pid}/train").json()["id"])["state"] == "succeeded"

    queries = [[(f"q{i}_{j}.png", encode(shape_image(CLASSES[(i + j) % 3], 700_000 + 10 * i + j)))
                for j in range(2)] for i in range(CONCURRENT)]

    def predict(i: int) -> dict[str, Any]:
        answer = client.post(f"/api/v1/projects/{pid}/predict", files=[("files", q) for q in queries[i]])
        return dict(answer.raise_for_status().json())

    def search(i: int) -> dict[str, Any]:
        answer = client.post(f"/api/v1/projects/{pid}/search", params={"k": 4}, files={"file": queries[i][0]})
        return dict(answer.raise_for_status().json())

    before = _passes(client)
    together = _concurrently(predict, CONCURRENT)
    shared = _passes(client) - before
    # The first requests also load the model: concurrent first requests must still share one batch.
    assert 1 <= shared < CONCURRENT, f"{CONCURRENT} concurrent requests took {shared} forward passes"

    before = _passes(client)
    alone = [predict(i) for i in range(CONCURRENT)]
    assert _passes(client) - before == CONCURRENT  # one at a time: a pass each
    for mine, reference in zip(together, alone, strict=True):
        _same_prediction(mine, reference)

    before = _passes(client)
    found_together = _concurrently(search, CONCURRENT)
    assert _passes(client) - before < CONCURRENT
    for i, found in enumerate(found_together):
        assert [h["image"]["id"] for h in found["items"]] == [h["image"]["id"] for h in search(i)["items"]]
