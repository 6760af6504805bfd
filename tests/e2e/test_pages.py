"""The main flow of the Settings, Search, Map and project Overview pages in the browser, and an API error shown
in the page.

Settings: an API token is created (shown once, copied), listed, revoked, and then answers 401. Search: a
picked image and a dropped query image both list the API's nearest neighbours with their scores. Map: colour
by label, prediction and confidence paint each point in the colour that mode gives it, and hovering a point
shows its thumbnail. Overview: the learning curve of two trainings is drawn (its box keeps its size while the
model loads) and a pretraining started on the page shows in the running jobs with its progress until it ends.

One project, set up through the REST API (upload, pretrain, labels, two trainings), is shared by the tests;
the Overview test runs last since it pretrains a new backbone.
"""

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import FilePayload, Page, Route, expect

from tests.api_client import project_with_classes, signed_up_client, wait_for, wait_job
from tests.e2e.helpers import log_in, new_project, pretrained, shot
from tests.live_app import LiveApp
from tests.synthetic_images import CLASSES, encode, shape_image

PASSWORD = "correct horse 3"
EMAIL = "pages@example.com"
UNLABELED = (0x9A, 0xA5, 0xB1)
# The map's confidence ramp: red (unsure) -> amber -> green (sure).
RAMP = ((0.0, (215, 48, 39)), (0.5, (254, 196, 79)), (1.0, (26, 152, 80)))


@dataclass
class Pages:
    client: httpx.Client
    project_id: int
    class_ids: dict[str, int]

    @property
    def base(self) -> str:
        return f"/api/v1/projects/{self.project_id}"

    def get(self, path: str, **query: Any) -> Any:
        return self.client.get(f"{self.base}{path}", params=query).raise_for_status().json()

    def settle(self) -> None:
        """Wait until no job of the project is queued or running (labels retrain the classifier by themselves)."""
        wait_for(lambda: all(j["state"] not in ("queued", "running") for j in self.get("/jobs")), timeout=300)


@pytest.fixture(scope="module")
def pages(live: LiveApp) -> Iterator[Pages]:
    """24 shapes, pretrained, trained twice: on 3 labels per class, then on 5."""
    def http(**kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=live.base_url, timeout=60, **kwargs)

    client = signed_up_client(http, EMAIL, PASSWORD)
    project_id, class_ids = new_project(client, "Pages", per_class=8, seed=31)
    pretrained(client, project_id)
    found = Pages(client, project_id, class_ids)
    images = found.get("/images", limit=1000)["items"]
    for per_class in (3, 5):
        for kind in CLASSES:
            ids = [i["id"] for i in images if i["filename"].startswith(kind)][:per_class]
            client.put(f"{found.base}/labels", json={"image_ids": ids, "class_id": class_ids[kind]}).raise_for_status()
        found.settle()
        trained = wait_job(client, client.post(f"{found.base}/train").raise_for_status().json()["id"])
        assert trained["state"] == "succeeded", trained
    yield found
    client.close()


def _png(kind: str, seed: int) -> bytes:
    return encode(shape_image(kind, seed))


# ---------------------------------------------------------------- settings


def test_settings_token_created_copied_listed_revoked_then_refused(live: LiveApp, pages: Pages, page: Page) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.base_url)
    log_in(page, live, EMAIL, PASSWORD, "#/settings")
    page.get_by_test_id("token-name").fill("nightly export")
    page.get_by_test_id("token-create").click()
    secret = page.get_by_test_id("token-secret")
    expect(secret).to_be_visible()
    token = secret.inner_text().strip()
    assert len(token) >= 20, token
    row = page.get_by_test_id("token-row").filter(has_text="nightly export")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("never")  # not used yet
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == token
    shot(page, "settings")

    # The token works, and is shown only once: a reload lists it without its secret.
    bearer = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{live.base_url}/api/v1/projects", headers=bearer).status_code == 200
    page.reload()
    expect(row).to_have_count(1)
    expect(page.get_by_test_id("token-secret")).to_have_count(0)
    assert token not in page.content()

    # Revoking asks once more; "Keep it" keeps the token working.
    row.get_by_test_id("token-revoke").click()
    row.get_by_test_id("token-revoke-keep").click()
    expect(row).to_have_count(1)
    assert httpx.get(f"{live.base_url}/api/v1/projects", headers=bearer).status_code == 200
    row.get_by_test_id("token-revoke").click()
    row.get_by_test_id("token-revoke-confirm").click()
    expect(row).to_have_count(0)
    refused = httpx.get(f"{live.base_url}/api/v1/projects", headers=bearer)
    assert refused.status_code == 401, refused.text
    assert refused.json()["detail"]
    page.reload()
    expect(page.get_by_test_id("token-row").first).to_be_visible()  # the fixture's own token is still there
    expect(row).to_have_count(0)


# ---------------------------------------------------------------- an API error in the page


def test_predicting_before_training_shows_the_api_message(live: LiveApp, pages: Pages, page: Page) -> None:
    project_id, _ = project_with_classes(pages.client, "Untrained", CLASSES)
    image = _png("circle", 77)
    answer = pages.client.post(f"/api/v1/projects/{project_id}/predict",
                               files=[("files", ("circle.png", image, "image/png"))])
    assert answer.status_code == 409, answer.text
    message = answer.json()["detail"]
    assert isinstance(message, str)
    assert message

    log_in(page, live, EMAIL, PASSWORD, f"#/projects/{project_id}/predict")
    page.get_by_test_id("predict-input").set_input_files(
        files=[FilePayload(name="circle.png", mimeType="image/png", buffer=image)])
    page.get_by_test_id("predict-submit").click()
    expect(page.get_by_test_id("error")).to_contain_text(message)
    expect(page.get_by_test_id("prediction-table")).to_have_count(0)
    page.get_by_role("button", name="Dismiss error").click()
    expect(page.get_by_test_id("error")).to_have_count(0)


# ---------------------------------------------------------------- search


def _listed(page: Page) -> list[tuple[int, str]]:
    cards = page.get_by_test_id("similar-result")
    return [(int(c.get_attribute("data-image-id") or 0), c.get_by_test_id("similar-score").inner_text())
            for c in cards.all()]


def _expected(items: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(hit["image"]["id"], f"score {hit['score']:.3f}") for hit in items]


def test_search_by_a_picked_image_and_by_a_dropped_file(live: LiveApp, pages: Pages, page: Page) -> None:
    log_in(page, live, EMAIL, PASSWORD, f"#/projects/{pages.project_id}/images")
    card = page.get_by_test_id("image-card").first
    expect(card).to_be_visible()
    picked = int(card.get_attribute("data-image-id") or 0)
    card.get_by_test_id("similar-link").click()
    expect(page).to_have_url(re.compile(rf"/search\?image={picked}$"))
    expect(page.get_by_test_id("similar-query")).to_have_attribute("data-image-id", str(picked))
    expected = pages.get(f"/images/{picked}/similar", k=10)["items"]
    assert len(expected) == 10
    results = page.get_by_test_id("similar-result")
    expect(results).to_have_count(10)
    assert _listed(page) == _expected(expected)

    # A file dropped on the page is searched at once.
    query = _png("triangle", 4321)
    page.goto(live.base_url + f"/#/projects/{pages.project_id}/search")
    expect(results).to_have_count(0)
    drop = page.get_by_test_id("similar-drop")
    transfer = page.evaluate_handle(
        """([b64, name, type]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, { type }));
            return dt;
        }""", [base64.b64encode(query).decode(), "query-triangle.png", "image/png"])
    drop.dispatch_event("drop", {"dataTransfer": transfer})
    expect(results).to_have_count(10)
    expect(page.get_by_text("most similar to query-triangle.png")).to_be_visible()
    searched = pages.client.post(f"{pages.base}/search", params={"k": 10},
                                 files={"file": ("query-triangle.png", query, "image/png")}).raise_for_status().json()
    assert _listed(page) == _expected(searched["items"])
    shot(page, "search", full_page=True)

    # The file picker gives the same answer, with the number of results asked for.
    page.get_by_test_id("similar-k").fill("4")
    page.get_by_test_id("similar-input").set_input_files(
        files=[FilePayload(name="picked.png", mimeType="image/png", buffer=query)])
    page.get_by_test_id("similar-submit").click()
    expect(results).to_have_count(4)
    assert _listed(page) == _expected(searched["items"][:4])

    # Something that is not an image says what to drop.
    text = page.evaluate_handle("""() => {
        const dt = new DataTransfer();
        dt.items.add(new File(['hello'], 'notes.txt', { type: 'text/plain' }));
        return dt;
    }""")
    drop.dispatch_event("drop", {"dataTransfer": text})
    expect(page.get_by_test_id("error")).to_contain_text("notes.txt is not an image")


# ---------------------------------------------------------------- map


def _ramp(p: float) -> tuple[int, int, int]:
    t = min(1.0, max(0.0, p))
    (a, ca), (b, cb) = (RAMP[0], RAMP[1]) if t <= 0.5 else (RAMP[1], RAMP[2])
    u = (t - a) / (b - a)
    r, g, bl = (round(x + (y - x) * u) for x, y in zip(ca, cb, strict=True))
    return r, g, bl


def _hex(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _painted(page: Page, points: list[dict[str, Any]]) -> list[tuple[int, int, int]]:
    """The colour of the map's point canvas at the centre of each point."""
    pad = float(page.get_by_test_id("map-canvas").get_attribute("data-pad") or 0)
    found: list[list[int]] = page.evaluate("""([xy, pad]) => {
        const canvas = document.querySelector('[data-testid=map-points]');
        const ctx = canvas.getContext('2d');
        const w = canvas.clientWidth, h = canvas.clientHeight, dpr = canvas.width / w;
        return xy.map(([x, y]) => {
            const px = Math.round((pad + x * (w - 2 * pad)) * dpr), py = Math.round((pad + y * (h - 2 * pad)) * dpr);
            return Array.from(ctx.getImageData(px, py, 1, 1).data.slice(0, 3));
        });
    }""", [[[p["x"], p["y"]] for p in points], pad])
    return [(c[0], c[1], c[2]) for c in found]


def _share_matching(painted: list[tuple[int, int, int]], expected: list[tuple[int, int, int]]) -> float:
    """The share of points painted (nearly) their expected colour; overlapping points may hide a few."""
    close = sum(max(abs(a - b) for a, b in zip(p, e, strict=True)) <= 30
                for p, e in zip(painted, expected, strict=True))
    return close / len(expected)


def test_map_colours_by_label_prediction_confidence_and_hover_shows_the_thumbnail(
        live: LiveApp, pages: Pages, page: Page) -> None:
    points = pages.get("/map")["points"]
    colour = {c["id"]: _hex(c["color"]) for c in pages.get("")["classes"]}
    top = {item["image_id"]: item["top_k"][0] for item in pages.get(
        "/predictions", image_ids=",".join(str(p["image_id"]) for p in points), top_k=1)["items"]}
    assert len(top) == len(points)
    by_label = [colour[p["class_id"]] if p["class_id"] is not None else UNLABELED for p in points]
    by_prediction = [colour[top[p["image_id"]]["class_id"]] for p in points]
    by_confidence = [_ramp(top[p["image_id"]]["probability"]) for p in points]
    assert by_label != by_prediction  # unlabeled points are grey by label, coloured by prediction

    log_in(page, live, EMAIL, PASSWORD, f"#/projects/{pages.project_id}/map")
    canvas = page.get_by_test_id("map-points")
    legend = page.get_by_test_id("map-legend")
    expect(page.get_by_test_id("map-canvas")).to_have_attribute("data-points", str(len(points)))
    expect(canvas).to_have_attribute("data-color-mode", "label")
    unlabeled = sum(p["class_id"] is None for p in points)
    expect(legend.locator("li").last).to_have_text(re.compile(rf"unlabeled\s*\({unlabeled}\)"))
    assert _share_matching(_painted(page, points), by_label) >= 0.8

    page.get_by_test_id("map-color-prediction").click()
    expect(page.get_by_test_id("map-color-prediction")).to_have_attribute("aria-pressed", "true")
    expect(canvas).to_have_attribute("data-color-mode", "prediction")
    expect(legend).to_contain_text("no prediction")
    wait_for(lambda: _share_matching(_painted(page, points), by_prediction) >= 0.8, timeout=15, interval=0.2)

    page.get_by_test_id("map-color-confidence").click()
    expect(canvas).to_have_attribute("data-color-mode", "confidence")
    expect(legend).to_contain_text("low → high confidence")
    wait_for(lambda: _share_matching(_painted(page, points), by_confidence) >= 0.8, timeout=15, interval=0.2)

    # Hovering a point shows its thumbnail, its id and its class.
    box = page.get_by_test_id("map-canvas").bounding_box()
    assert box
    pad = 14.0

    def at(p: dict[str, Any]) -> tuple[float, float]:
        return box["x"] + pad + p["x"] * (box["width"] - 2 * pad), box["y"] + pad + p["y"] * (box["height"] - 2 * pad)

    def alone(p: dict[str, Any]) -> bool:
        x, y = at(p)
        return all(q is p or (at(q)[0] - x) ** 2 + (at(q)[1] - y) ** 2 > 12 ** 2 for q in points)

    target = next((p for p in points if p["class_id"] is not None and alone(p)), points[0])
    page.mouse.move(*at(target))
    tip = page.get_by_test_id("map-tooltip")
    expect(tip).to_be_visible()
    shown = int(tip.get_attribute("data-image-id") or 0)
    if alone(target):
        assert shown == target["image_id"]
    expect(tip).to_contain_text(f"#{shown}")
    thumb = tip.locator("img")
    expect(thumb).to_have_attribute("src", re.compile(rf"/images/{shown}/thumbnail"))
    expect(thumb).to_have_js_property("complete", True)
    assert thumb.evaluate("img => img.naturalWidth") > 0
    expect(tip).to_contain_text(f"guess {top[shown]['class_name']}")
    shot(page, "map-colour")
    page.mouse.move(box["x"] - 20, box["y"] - 20)
    expect(tip).to_have_count(0)


# ---------------------------------------------------------------- overview (last: it pretrains a new backbone)


def test_overview_learning_curve_and_a_running_job(live: LiveApp, pages: Pages, page: Page) -> None:
    pages.settle()
    project = pages.get("")
    model = pages.get("/model")
    dots = sum(p["cv_accuracy"] is not None for p in model["learning_curve"])
    assert dots >= 2, model["learning_curve"]

    # Hold the model's answer: the curve's box has its size already, nothing below it moves when it arrives.
    held: list[Route] = []
    page.route(re.compile(rf".*/api/v1/projects/{pages.project_id}/model$"), lambda route: held.append(route))
    log_in(page, live, EMAIL, PASSWORD, f"#/projects/{pages.project_id}/overview")
    box = page.get_by_test_id("overview-curve")
    expect(box).to_have_attribute("data-state", "loading")
    classes = page.get_by_role("heading", name="Classes", exact=True)
    before = classes.bounding_box()
    wait_for(lambda: held, timeout=10, interval=0.1)
    held[0].continue_()
    page.unroute(re.compile(rf".*/api/v1/projects/{pages.project_id}/model$"))
    expect(box).to_have_attribute("data-state", "loaded")
    expect(page.get_by_test_id("learning-curve")).to_have_attribute("data-points", str(dots))
    expect(page.locator("[data-testid=learning-curve] circle")).to_have_count(dots)
    after = classes.bounding_box()
    assert before
    assert after
    assert abs(after["y"] - before["y"]) < 1, (before, after)

    expect(page.get_by_test_id("image-count")).to_have_text(str(project["image_count"]))
    expect(page.get_by_test_id("labeled-count")).to_have_text(str(project["labeled_count"]))
    expect(page.get_by_test_id("overview-accuracy")).to_have_text(re.compile(r"^\d+(\.\d)?%$"))
    expect(page.get_by_test_id("running-jobs")).to_have_count(0)  # idle: no jobs panel

    # A pretraining started here shows in the running jobs with its progress, then leaves the list. Enough
    # epochs (one step each on these 24 images) that it runs for several of the page's job updates.
    page.get_by_test_id("pretrain-preset-custom").check()
    page.get_by_test_id("pretrain-epochs").fill("60")
    page.get_by_test_id("pretrain-start").click()
    job = page.locator("[data-testid=running-job][data-kind=pretrain]")
    expect(job).to_be_visible()
    expect(page.get_by_test_id("running-jobs").get_by_role("link", name=re.compile("All jobs"))).to_have_attribute(
        "href", f"#/projects/{pages.project_id}/jobs")
    expect(job).to_have_attribute("data-state", "running", timeout=120_000)
    progress = job.locator("progress")
    wait_for(lambda: progress.evaluate("p => p.value", timeout=2000) > 0, timeout=120, interval=0.2)
    expect(job.get_by_test_id("job-status")).to_contain_text(re.compile(r"\d+%"))
    shot(page, "overview", full_page=True)

    expect(job).to_have_count(0, timeout=300_000)
    pages.settle()
    expect(page.get_by_test_id("running-jobs")).to_have_count(0, timeout=30_000)
    backbone = pages.get("")["backbone_version"]
    assert backbone is not None
    # The trained network ships as a new version, unless the guard kept a start that is the project's
    # backbone already: then nothing new ships and the job says so.
    pretrain = next(j for j in pages.get("/jobs") if j["kind"] == "pretrain")
    if pretrain["result"]["shipped"]:
        assert backbone > project["backbone_version"]
    else:
        assert backbone == project["backbone_version"]
        assert "nothing new ships" in pretrain["result"]["reason"]
    expect(page.get_by_test_id("backbone-version")).to_have_text(str(backbone), timeout=30_000)
    expect(page.get_by_test_id("error")).to_have_count(0)
