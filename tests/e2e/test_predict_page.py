"""Predict for people: a drop zone, thumbnails of the chosen files (three files all named 0000.png can be told
apart), top-k bars, the nearest labeled images as evidence and the out-of-distribution flag the API returns."""

import base64
from typing import Any

import httpx
from playwright.sync_api import FilePayload, Page, expect

from tests.api_client import signed_up_client, wait_job
from tests.e2e.helpers import log_in, new_project, pretrained, shot
from tests.live_app import LiveApp
from tests.synthetic_images import CLASSES, encode, noise_image, shape_image

EMAIL = "predictor@example.com"
PASSWORD = "correct horse 9"


def test_predict_page_shows_thumbnails_bars_evidence_and_the_ood_flag(live: LiveApp, page: Page) -> None:
    def http(**kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=live.base_url, timeout=60, **kwargs)

    with signed_up_client(http, EMAIL, PASSWORD) as client:
        pid, class_ids = new_project(client, "Predict page", per_class=5, seed=61)
        pretrained(client, pid)
        listing = client.get(f"/api/v1/projects/{pid}/images", params={"limit": 100}).json()["items"]
        for kind in CLASSES:
            ids = [i["id"] for i in listing if i["filename"].startswith(kind)][:3]
            client.put(f"/api/v1/projects/{pid}/labels", json={"image_ids": ids, "class_id": class_ids[kind]})
        train = wait_job(client, client.post(f"/api/v1/projects/{pid}/train").raise_for_status().json()["id"])
        assert train["state"] == "succeeded", train
        found = client.get(f"/api/v1/projects/{pid}/images", params={"labeled": True}).json()["items"]
        labeled = {i["id"] for i in found}

    log_in(page, live, EMAIL, PASSWORD, f"#/projects/{pid}/predict")
    # One file dropped on the zone, then three files of one name chosen with the picker (they replace it).
    circle = encode(shape_image("circle", 777_001))
    dropped = page.evaluate_handle(
        """(b64) => { const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                      const dt = new DataTransfer();
                      dt.items.add(new File([bytes], 'dropped.png', {type: 'image/png'}));
                      return dt; }""", base64.b64encode(circle).decode())
    page.get_by_test_id("predict-drop").dispatch_event("drop", {"dataTransfer": dropped})
    expect(page.get_by_test_id("predict-chosen").locator("img")).to_have_count(1)
    expect(page.get_by_test_id("predict-chosen")).to_contain_text("dropped.png")

    files = [encode(shape_image("circle", 777_002)), encode(shape_image("triangle", 777_003)), encode(noise_image())]
    page.get_by_test_id("predict-input").set_input_files(
        [FilePayload(name="0000.png", mimeType="image/png", buffer=data) for data in files])
    chosen = page.get_by_test_id("predict-chosen").locator("img")
    expect(chosen).to_have_count(3)
    with page.expect_response(lambda r: r.url.split("?")[0].endswith(f"/projects/{pid}/predict")) as answered:
        page.get_by_test_id("predict-submit").click()
    answer = answered.value.json()

    rows = page.get_by_test_id("prediction-row")
    expect(rows).to_have_count(3)
    for i, pred in enumerate(answer["predictions"]):
        row = rows.nth(i)
        thumb = row.get_by_test_id("prediction-thumb")
        expect(thumb).to_be_visible()
        assert thumb.evaluate("img => img.complete && img.naturalWidth > 0")
        bars = row.get_by_test_id("prediction-topk").locator("li")
        expect(bars).to_have_count(len(pred["top_k"]))
        expect(bars.first).to_contain_text(pred["top_k"][0]["class_name"])
        widths = [bars.nth(j).locator(".bar span").evaluate("s => s.style.width") for j in range(len(pred["top_k"]))]
        assert widths == [f"{round(s['probability'] * 100)}%" for s in pred["top_k"]]
        evidence = row.get_by_test_id("prediction-evidence").locator("li")
        expect(evidence).to_have_count(len(pred["evidence"]))
        assert len(pred["evidence"]) == 3
        shown = [int(evidence.nth(j).get_attribute("data-image-id") or 0) for j in range(len(pred["evidence"]))]
        assert shown == [e["image_id"] for e in pred["evidence"]]
        assert set(shown) <= labeled
        assert evidence.first.locator("img").evaluate("img => img.decode().then(() => img.naturalWidth > 0)")
        expect(row).to_have_attribute("data-ood", str(pred["out_of_distribution"]).lower())
        expect(row.get_by_test_id("prediction-ood")).to_have_count(1 if pred["out_of_distribution"] else 0)
    # The three thumbnails are the three files (all named 0000.png): distinct images.
    sources = [rows.nth(i).get_by_test_id("prediction-thumb").get_attribute("src") for i in range(3)]
    assert len(set(sources)) == 3
    shot(page, "predict-evidence", full_page=True)
