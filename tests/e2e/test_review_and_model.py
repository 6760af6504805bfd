"""The Review and Model pages in the browser, and the app on narrow screens.

Review: the classifier's guesses by confidence are confirmed or fixed with hotkeys; once the classifier beats
guessing, propagated labels are confirmed above a confidence and suspected mislabels are accepted or kept.
Model: the metrics, the confusion matrix with the API's class names, the learning curve, a curl example whose
created token works, and an ONNX export ending in a download link. Train: a fine-tune cancelled, then one that
says which model it kept. Narrow screens: no page scrolls sideways at 1024x700 or 800x600.

One project, set up through the REST API (upload, pretrain, a few labels, train), is shared by the tests.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import onnxruntime
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.api_client import signed_up_client, wait_for, wait_job
from tests.e2e.helpers import log_in, shot
from tests.live_app import LiveApp
from tests.synthetic_images import CLASSES, dataset, encode, shape_image, zip_of

PASSWORD = "correct horse 2"
EMAIL = "reviewer@example.com"
LABELED_PER_CLASS = 3



@dataclass
class Reviewed:
    client: httpx.Client
    project_id: int
    class_ids: dict[str, int]

    @property
    def base(self) -> str:
        return f"/api/v1/projects/{self.project_id}"

    def class_of(self, image_id: int) -> int | None:
        value: int | None = self.client.get(f"{self.base}/images/{image_id}").raise_for_status().json()["class_id"]
        return value

    def labeled_count(self) -> int:
        count: int = self.client.get(self.base).raise_for_status().json()["labeled_count"]
        return count

    def settle(self) -> None:
        """Wait until no job of the project is queued or running (labels retrain the classifier by themselves)."""
        wait_for(lambda: all(j["state"] not in ("queued", "running")
                             for j in self.client.get(f"{self.base}/jobs").raise_for_status().json()), timeout=300)

    def trusted(self, more_per_class: int) -> None:
        """Give every labeled image its true class (file names say it), label ``more_per_class`` more of each
        class and train: the review aids hold back until the classifier beats guessing."""
        images = self.client.get(f"{self.base}/images", params={"limit": 1000}).raise_for_status().json()["items"]
        for kind, class_id in self.class_ids.items():
            mine = [i for i in images if i["filename"].startswith(kind)]
            labeled = [i["id"] for i in mine if i["class_id"] is not None]
            more = [i["id"] for i in mine if i["class_id"] is None][:more_per_class]
            self.client.put(f"{self.base}/labels",
                            json={"image_ids": labeled + more, "class_id": class_id}).raise_for_status()
        self.settle()
        trained = wait_job(self.client, self.client.post(f"{self.base}/train").raise_for_status().json()["id"])
        assert trained["state"] == "succeeded", trained
        trust = self.client.get(f"{self.base}/model").raise_for_status().json()["trust"]
        assert trust["trustworthy"], trust

    def review(self, **query: Any) -> dict[str, Any]:
        found: dict[str, Any] = self.client.get(f"{self.base}/predictions/review",
                                                params=query).raise_for_status().json()
        return found


@pytest.fixture(scope="module")
def reviewed(live: LiveApp) -> Iterator[Reviewed]:
    """30 shapes, pretrained, three labels per class and a trained classifier."""
    def http(**kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=live.base_url, timeout=60, **kwargs)

    client = signed_up_client(http, EMAIL, PASSWORD)
    try:
        yield _set_up(client)
    finally:
        client.close()


def _set_up(client: httpx.Client) -> Reviewed:
    pid: int = client.post("/api/v1/projects", json={"name": "Review and model"}).raise_for_status().json()["id"]
    class_ids = {k: client.post(f"/api/v1/projects/{pid}/classes", json={"name": k}).raise_for_status().json()["id"]
                 for k in CLASSES}
    images = dataset(per_class=10, seed=21)
    upload = client.post(f"/api/v1/projects/{pid}/uploads",
                         files=[("files", ("shapes.zip", zip_of([(n, d) for n, _, d in images]), "application/zip"))])
    assert wait_job(client, upload.raise_for_status().json()["id"])["state"] == "succeeded"
    pretrain = client.post(f"/api/v1/projects/{pid}/pretrain", json={"epochs": 2}).raise_for_status().json()
    pretrained = wait_job(client, pretrain["id"])
    assert pretrained["state"] == "succeeded", pretrained
    wait_for(lambda: client.get(f"/api/v1/projects/{pid}").json()["backbone_version"] is not None, timeout=300)
    listing = client.get(f"/api/v1/projects/{pid}/images", params={"limit": 1000}).raise_for_status().json()["items"]
    for kind in CLASSES:
        ids = [i["id"] for i in listing if i["filename"].startswith(kind)][:LABELED_PER_CLASS]
        client.put(f"/api/v1/projects/{pid}/labels",
                   json={"image_ids": ids, "class_id": class_ids[kind]}).raise_for_status()
    reviewed = Reviewed(client, pid, class_ids)
    reviewed.settle()  # the labels queued a retrain by themselves: train after it, not beside it
    trained = wait_job(client, client.post(f"/api/v1/projects/{pid}/train").raise_for_status().json()["id"])
    assert trained["state"] == "succeeded", trained
    return reviewed



def _image_id(card: Locator) -> int:
    return int(card.get_attribute("data-image-id") or 0)


def _guess(card: Locator) -> int:
    return int(card.get_by_test_id("review-guess").get_attribute("data-class-id") or 0)


def test_review_confirm_fix_and_filter(live: LiveApp, reviewed: Reviewed, page: Page) -> None:
    expected = reviewed.review(limit=48)
    log_in(page, live, EMAIL, PASSWORD, f"#/projects/{reviewed.project_id}/review")
    cards = page.get_by_test_id("review-item")
    expect(cards).to_have_count(len(expected["items"]))
    # Least confident first, as the API orders them, each with its guess.
    assert [_image_id(c) for c in cards.all()] == [i["image"]["id"] for i in expected["items"]]
    assert [_guess(c) for c in cards.all()] == [i["class_id"] for i in expected["items"]]
    expect(page.get_by_test_id("review-range")).to_contain_text(f"of {expected['total']}")

    # Confirm: the image gets the guessed class.
    first = cards.nth(0)
    first_id, first_guess = _image_id(first), _guess(first)
    first.get_by_test_id("review-confirm").click()
    expect(first.get_by_test_id("review-done")).to_have_text("confirmed")
    assert reviewed.class_of(first_id) == first_guess

    # Fix: select an image and press the hotkey of another class.
    second = cards.nth(1)
    second_id, second_guess = _image_id(second), _guess(second)
    second.locator("button.thumb").click()
    other = page.locator(f"[data-testid=class-button]:not([data-class-id='{second_guess}'])").first
    other_id = int(other.get_attribute("data-class-id") or 0)
    page.keyboard.press(other.locator("kbd").inner_text())
    expect(second.get_by_test_id("review-done")).to_have_text("fixed")
    assert reviewed.class_of(second_id) == other_id

    # Confirm several at once: select two, press C.
    third, fourth = cards.nth(2), cards.nth(3)
    third.locator("button.thumb").click()
    fourth.locator("button.thumb").click(modifiers=["Control"])
    expect(page.get_by_test_id("review-confirm-selected")).to_contain_text("2 selected")
    page.keyboard.press("c")
    expect(page.get_by_test_id("review-done")).to_have_count(4)
    for card in (third, fourth):
        assert reviewed.class_of(_image_id(card)) == _guess(card)
    shot(page, "review")

    # Filter by the guessed class: only that class's guesses are listed.
    circle = reviewed.class_ids["circle"]
    with page.expect_response(lambda r: "predictions/review" in r.url and f"class_id={circle}" in r.url):
        page.get_by_test_id("review-class").select_option(label="circle")
    expected_circles = reviewed.review(class_id=circle, limit=48)["items"]
    expect(cards).to_have_count(len(expected_circles))
    assert all(_guess(c) == circle for c in cards.all())


def test_propagated_labels_and_mislabels(live: LiveApp, reviewed: Reviewed, page: Page) -> None:
    reviewed.trusted(more_per_class=3)
    log_in(page, live, EMAIL, PASSWORD, f"#/projects/{reviewed.project_id}/review")
    page.get_by_test_id("review-view-propagated").click()
    tentative = page.get_by_test_id("propagated")
    expect(tentative.first).to_be_visible()
    shown = tentative.count()
    assert shown >= 3

    # One by one: the image gets its propagated class and leaves the list.
    one = tentative.nth(0)
    one_id = _image_id(one)
    before = reviewed.labeled_count()
    one.get_by_test_id("propagated-confirm").click()
    expect(tentative).to_have_count(shown - 1)
    assert reviewed.class_of(one_id) is not None

    # All at or above a confidence: exactly the ones the button counts.
    page.get_by_test_id("propagated-min").fill("0")
    confirm_all = page.get_by_test_id("propagated-confirm-all")
    expect(confirm_all).to_have_text(f"Confirm {shown - 1} labels")
    confirm_all.click()
    expect(page.get_by_test_id("propagated-status")).to_have_text(f"{shown - 1} labels confirmed")
    assert reviewed.labeled_count() == before + shown

    # Suspected mislabels (a circle labeled "square" and a triangle labeled "circle" added to whatever the
    # propagated labels got wrong): the page lists what the API suspects; accept one suggestion, keep another.
    # Confirmed at any confidence, propagation gives many images the most common class: the retrained classifier
    # may no longer beat guessing. True labels again, so that the suspects come from a trustworthy one.
    reviewed.trusted(more_per_class=0)
    images = reviewed.client.get(f"{reviewed.base}/images", params={"labeled": True, "limit": 1000}).json()["items"]
    circle, square, triangle = (reviewed.class_ids[k] for k in ("circle", "square", "triangle"))
    wrong_circle = next(i["id"] for i in images if i["filename"].startswith("circle") and i["class_id"] == circle)
    wrong_triangle = next(i["id"] for i in images if i["filename"].startswith("triangle") and i["class_id"] == triangle)
    reviewed.client.put(f"{reviewed.base}/labels", json={"image_ids": [wrong_circle], "class_id": square})
    reviewed.client.put(f"{reviewed.base}/labels", json={"image_ids": [wrong_triangle], "class_id": circle})
    suspects = reviewed.client.get(f"{reviewed.base}/mislabels", params={"limit": 100}).raise_for_status().json()
    assert not suspects["held_back"], suspects["trust"]
    suspects = suspects["items"]
    assert len(suspects) >= 2, suspects
    page.get_by_test_id("review-view-mislabels").click()
    listed = page.get_by_test_id("mislabel")
    expect(listed).to_have_count(len(suspects))
    assert [_image_id(m) for m in listed.all()] == [s["image"]["id"] for s in suspects]
    first, second = suspects[0], suspects[1]
    accepted = page.locator(f"[data-testid=mislabel][data-image-id='{first['image']['id']}']")
    expect(accepted.get_by_test_id("mislabel-suggested")).to_have_text(
        next(k for k, v in reviewed.class_ids.items() if v == first["suggested_class_id"]))
    accepted.get_by_test_id("mislabel-accept").click()
    expect(accepted).to_have_count(0)
    assert reviewed.class_of(first["image"]["id"]) == first["suggested_class_id"]
    kept = page.locator(f"[data-testid=mislabel][data-image-id='{second['image']['id']}']")
    kept.get_by_test_id("mislabel-keep").click()
    expect(kept).to_have_count(0)
    expect(listed).to_have_count(len(suspects) - 2)
    assert reviewed.class_of(second["image"]["id"]) == second["image"]["class_id"]
    still = reviewed.client.get(f"{reviewed.base}/mislabels", params={"limit": 100}).raise_for_status().json()["items"]
    assert second["image"]["id"] in {s["image"]["id"] for s in still}
    # "Keep" is remembered in this browser: the kept image stays hidden after a reload.
    page.reload()
    page.get_by_test_id("review-view-mislabels").click()
    expect(page.get_by_test_id("mislabel").first.or_(page.get_by_test_id("mislabels-empty"))).to_be_visible()
    expect(kept).to_have_count(0)


def test_model_page_metrics_and_a_working_curl_example(live: LiveApp, reviewed: Reviewed, page: Page) -> None:
    reviewed.settle()
    model = reviewed.client.get(f"{reviewed.base}/model").raise_for_status().json()
    report = model["classifier"]["metrics"]
    log_in(page, live, EMAIL, PASSWORD, f"#/projects/{reviewed.project_id}/model")
    matrix = page.get_by_test_id("confusion-matrix")
    expect(matrix).to_be_visible()
    for kind in CLASSES:
        expect(matrix.locator("thead th", has_text=kind)).to_have_count(1)
    cells = matrix.get_by_test_id("confusion-cell")
    expect(cells).to_have_count(len(report["classes"]) ** 2)
    assert [int(c.get_attribute("data-count") or -1) for c in cells.all()] == [
        n for row in report["confusion"] for n in row]
    expect(page.get_by_test_id("class-metrics-row")).to_have_count(len(report["classes"]))
    expect(page.get_by_test_id("model-labels")).to_have_text(str(model["classifier"]["n_labels"]))
    expect(page.get_by_test_id("learning-curve")).to_have_attribute(
        "data-points", str(sum(p["cv_accuracy"] is not None for p in model["learning_curve"])))

    example = page.get_by_test_id("curl-example")
    expect(example).to_contain_text("Bearer $TOKEN")
    expect(example).to_contain_text(f"/api/v1/projects/{reviewed.project_id}/predict")
    page.get_by_test_id("curl-token-create").click()
    expect(page.get_by_test_id("curl-token-note")).to_be_visible()
    text = example.inner_text()
    found = re.search(r'Authorization: Bearer ([^"\s]+)"', text)
    assert found, text
    assert found.group(1) != "$TOKEN", text
    url = re.search(r'"(http[^"]+)"\s*$', text)
    assert url, text
    shot(page, "model", full_page=True)

    # The example's token and URL answer a real prediction.
    answer = httpx.post(url.group(1), headers={"Authorization": f"Bearer {found.group(1)}"},
                        files={"files": ("image.jpg", encode(shape_image("circle", 4242), "JPEG"))}, timeout=60)
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"][0]["top_k"][0]["class_name"] in CLASSES


def test_model_export_ends_with_a_working_download(live: LiveApp, reviewed: Reviewed, page: Page,
                                                   tmp_path: Path) -> None:
    reviewed.settle()
    log_in(page, live, EMAIL, PASSWORD, f"#/projects/{reviewed.project_id}/model")
    page.get_by_test_id("export-onnx").click()
    status = page.locator("[data-testid=job-status][data-kind=export]")
    expect(status).to_be_visible()
    link = page.get_by_test_id("export-download")
    expect(link).to_be_visible(timeout=180_000)
    expect(status).to_have_attribute("data-state", "succeeded")
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".onnx")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    jobs = reviewed.client.get(f"{reviewed.base}/jobs").raise_for_status().json()
    result = next(j for j in jobs if j["kind"] == "export")["result"]
    assert saved.stat().st_size == result["bytes"]
    assert result["filename"] == download.suggested_filename

    # The downloaded file runs: one image in, a probability per class out.
    session = onnxruntime.InferenceSession(str(saved), providers=["CPUExecutionProvider"])
    height, width = result["input"]["size"]
    probs = session.run(None, {session.get_inputs()[0].name: np.zeros((1, 3, height, width), np.float32)})[0]
    assert probs.shape == (1, len(CLASSES))
    assert abs(float(probs.sum()) - 1.0) < 1e-4


def test_finetune_from_the_train_page_cancel_then_a_decision(live: LiveApp, reviewed: Reviewed, page: Page) -> None:
    reviewed.settle()
    before = reviewed.client.get(f"{reviewed.base}/model").raise_for_status().json()
    log_in(page, live, EMAIL, PASSWORD, f"#/projects/{reviewed.project_id}/train")
    epochs = page.get_by_test_id("finetune-epochs")
    epochs.fill("500")
    page.get_by_test_id("finetune-start").click()
    expect(page.get_by_test_id("error")).to_contain_text("Epochs must be between 1 and 200")

    # A long fine-tune is cancelled from the page; the model stays as it was.
    epochs.fill("200")
    page.get_by_test_id("finetune-start").click()
    status = page.locator("[data-testid=job-status][data-kind=finetune]")
    expect(status).to_have_attribute("data-state", "running", timeout=60_000)
    page.get_by_test_id("finetune-cancel").click()
    expect(status).to_have_attribute("data-state", "cancelled", timeout=60_000)
    expect(page.get_by_test_id("error")).to_contain_text("Fine-tuning was cancelled. The current model stays.")
    assert reviewed.client.get(f"{reviewed.base}/model").raise_for_status().json() == before

    # A short one ends with the model it kept and why, and the page's model facts follow.
    epochs.fill("2")
    page.get_by_test_id("finetune-start").click()
    result = page.get_by_test_id("finetune-result")
    expect(result).to_be_visible(timeout=180_000)
    job = next(j for j in reviewed.client.get(f"{reviewed.base}/jobs").raise_for_status().json()
               if j["kind"] == "finetune" and j["state"] == "succeeded")["result"]
    expect(result).to_have_attribute("data-kept", job["kept"])
    expect(page.get_by_test_id("finetune-reason")).to_have_text(job["reason"])
    after = reviewed.client.get(f"{reviewed.base}/model").raise_for_status().json()
    expect(page.get_by_test_id("model-backbone-version")).to_have_text(str(after["backbone_version"]))
    if job["kept"] == "finetuned":
        expect(result).to_contain_text(f"backbone version {job['new_backbone_version']}")
        assert after["backbone_version"] == job["new_backbone_version"]
    else:
        expect(result).to_contain_text("Kept the linear head")
        assert after == before
    shot(page, "finetune", full_page=True)


NARROW_PAGES = ("", "#/settings", "overview", "upload", "jobs", "annotate", "label", "images", "map", "review",
                "train", "model", "predict", "search")


def _overflow(page: Page) -> int:
    value: int = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    return value


def _unlabelled_buttons(page: Page) -> list[str]:
    found: list[str] = page.evaluate("""() => [...document.querySelectorAll('button')]
        .filter((b) => b.offsetParent !== null)
        .filter((b) => !(b.getAttribute('aria-label') || b.textContent.trim() || b.title))
        .map((b) => b.outerHTML.slice(0, 120))""")
    return found


@pytest.mark.parametrize("size", [(1024, 700), (800, 600)], ids=["1024x700", "800x600"])
def test_narrow_screens_do_not_scroll_sideways(live: LiveApp, reviewed: Reviewed, page: Page,
                                               size: tuple[int, int]) -> None:
    width, height = size
    log_in(page, live, EMAIL, PASSWORD, "#/", width, height)
    # The projects list shows the counts and when something last happened.
    row = page.get_by_test_id("project-link").filter(has_text="Review and model").locator("xpath=ancestor::tr")
    expect(row.get_by_test_id("project-activity")).not_to_have_text("—")
    for target in NARROW_PAGES:
        path = target if target.startswith("#") or not target else f"#/projects/{reviewed.project_id}/{target}"
        page.goto(live.base_url + "/" + path)
        if target and not target.startswith("#"):
            expect(page.get_by_test_id(f"nav-{target}")).to_have_attribute("aria-current", "page")
        page.wait_for_timeout(600)  # let lists and images arrive: the Jobs page keeps an event stream open
        assert _overflow(page) <= 0, f"{path or 'projects'} scrolls sideways at {width}x{height}"
        assert _unlabelled_buttons(page) == [], path
    # The keyboard focus is visible: the focused element draws an outline.
    page.goto(live.base_url + f"/#/projects/{reviewed.project_id}/overview")
    expect(page.get_by_test_id("project-title")).to_be_visible()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none"), outline
    if width == 800:
        page.goto(live.base_url + f"/#/projects/{reviewed.project_id}/model")
        expect(page.get_by_test_id("confusion-matrix")).to_be_visible()
        shot(page, "narrow")
