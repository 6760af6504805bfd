"""The labeling views in the browser: one image at a time with hotkeys and undo, the grid's multi-select,
a lasso on the map, the virtualised grid at 10k images, and cancelling (then retrying) a running job.

One project, set up through the REST API (upload, pretrain, a few labels, train), is shared by the tests of
this module; each test then drives only the view it is about.
"""

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from tests.api_client import signed_up_client, wait_for, wait_job
from tests.e2e.helpers import log_in, new_project, pretrained, shot
from tests.live_app import LiveApp
from tests.synthetic_images import CLASSES, encode, shape_image

RESULTS = Path(__file__).resolve().parents[2] / "test-results"
PASSWORD = "correct horse 1"
EMAIL = "views@example.com"



@dataclass
class Shapes:
    client: httpx.Client
    project_id: int
    class_ids: dict[str, int]

    def image(self, image_id: int) -> dict[str, Any]:
        found: dict[str, Any] = self.client.get(
            f"/api/v1/projects/{self.project_id}/images/{image_id}").raise_for_status().json()
        return found

    def class_of(self, image_id: int) -> int | None:
        value: int | None = self.image(image_id)["class_id"]
        return value

    def images(self, **query: Any) -> list[dict[str, Any]]:
        page = self.client.get(f"/api/v1/projects/{self.project_id}/images",
                               params={"limit": 1000, **query}).raise_for_status().json()
        items: list[dict[str, Any]] = page["items"]
        return items

    def set_labels(self, image_ids: list[int], class_id: int | None) -> None:
        self.client.put(f"/api/v1/projects/{self.project_id}/labels",
                        json={"image_ids": image_ids, "class_id": class_id}).raise_for_status()


@pytest.fixture(scope="module")
def shapes(live: LiveApp) -> Iterator[Shapes]:
    """30 shapes, pretrained, 3 labels per class and a trained classifier."""
    def http(**kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=live.base_url, timeout=60, **kwargs)

    client = signed_up_client(http, EMAIL, PASSWORD)
    project_id, class_ids = new_project(client, "Views", per_class=10, seed=11)
    pretrained(client, project_id)
    shapes = Shapes(client, project_id, class_ids)
    for kind in CLASSES:
        ids = [img["id"] for img in shapes.images() if img["filename"].startswith(kind)][:3]
        shapes.set_labels(ids, class_ids[kind])
    job = client.post(f"/api/v1/projects/{project_id}/train").raise_for_status().json()
    assert wait_job(client, job["id"])["state"] == "succeeded"
    yield shapes
    client.close()



def _current_id(page: Page) -> int:
    value = page.get_by_test_id("annotate-current").get_attribute("data-image-id")
    assert value
    return int(value)


def _eventually(check: Callable[[], bool], timeout: float = 15) -> None:
    wait_for(check, timeout=timeout, interval=0.2)


def test_one_at_a_time_hotkeys_skip_undo_and_neighbours(live: LiveApp, shapes: Shapes, page: Page) -> None:
    log_in(page, live, EMAIL, PASSWORD, f"#/projects/{shapes.project_id}/annotate")
    current = page.get_by_test_id("annotate-current")
    expect(current).to_be_visible()
    # Hotkeys are shown on the class buttons, the suggestion says why, the classifier guesses.
    buttons = page.get_by_test_id("class-button")
    expect(buttons).to_have_count(3)
    expect(buttons.nth(0).locator("kbd")).to_have_text("1")
    expect(page.get_by_test_id("annotate-reason")).not_to_have_text("—")
    expect(page.get_by_test_id("annotate-guess").locator("li").first).to_be_visible()
    expect(page.get_by_test_id("neighbour")).to_have_count(8)
    first_class = int(buttons.nth(0).get_attribute("data-class-id") or 0)
    second_class = int(buttons.nth(1).get_attribute("data-class-id") or 0)

    a = _current_id(page)
    page.keyboard.press("1")
    expect(current).not_to_have_attribute("data-image-id", str(a))
    b = _current_id(page)
    page.keyboard.press("2")
    expect(current).not_to_have_attribute("data-image-id", str(b))
    c = _current_id(page)
    _eventually(lambda: shapes.class_of(a) == first_class and shapes.class_of(b) == second_class)

    # Skip leaves the image unlabeled.
    page.keyboard.press("s")
    expect(current).not_to_have_attribute("data-image-id", str(c))
    assert shapes.class_of(c) is None

    # Undo (Backspace, then Ctrl+Z) goes back to the labeled images and restores their previous label.
    page.keyboard.press("Backspace")
    expect(current).to_have_attribute("data-image-id", str(b))
    expect(current).to_have_attribute("data-class-id", "")
    page.keyboard.press("Control+z")
    expect(current).to_have_attribute("data-image-id", str(a))
    _eventually(lambda: shapes.class_of(a) is None and shapes.class_of(b) is None)

    # A selected neighbour gets the same label as the image.
    neighbour = page.get_by_test_id("neighbour").first
    n = int(neighbour.get_attribute("data-image-id") or 0)
    previous_n = shapes.class_of(n)
    neighbour.click()
    expect(neighbour).to_have_attribute("data-selected", "true")
    page.keyboard.press("3")
    third_class = int(buttons.nth(2).get_attribute("data-class-id") or 0)
    _eventually(lambda: shapes.class_of(a) == third_class and shapes.class_of(n) == third_class)
    expect(page.get_by_test_id("annotate-status")).to_contain_text("1 labeled")
    shot(page, "annotate", full_page=True)
    page.get_by_test_id("annotate-undo").click()
    _eventually(lambda: shapes.class_of(a) is None and shapes.class_of(n) == previous_n)


def test_grid_shift_click_and_drag_select_then_label(live: LiveApp, shapes: Shapes, page: Page) -> None:
    log_in(page, live, EMAIL, PASSWORD, f"#/projects/{shapes.project_id}/images")
    page.get_by_test_id("filter-unlabeled").click()
    cards = page.get_by_test_id("image-card")
    expect(cards.first).to_be_visible()
    expect(page.get_by_test_id("images-total")).to_have_text(re.compile(r"^\d+ images"))

    cards.nth(0).click()
    cards.nth(4).click(modifiers=["Shift"])
    expect(page.get_by_test_id("selection-count")).to_contain_text("5 selected")
    selected = [int(cards.nth(i).get_attribute("data-image-id") or 0) for i in range(5)]
    expect(page.locator("[data-testid=image-card][data-selected=true]")).to_have_count(5)
    square = shapes.class_ids["square"]
    page.keyboard.press("2")
    for image_id in selected:
        expect(page.locator(f"[data-testid=image-card][data-image-id='{image_id}']")).to_have_attribute(
            "data-class-id", str(square))
    _eventually(lambda: all(shapes.class_of(i) == square for i in selected))
    shot(page, "grid-multiselect")

    # Drag a rectangle from the middle of card 6 to the middle of card 8 (same row): three cards, in view.
    cards.nth(8).scroll_into_view_if_needed()
    start = cards.nth(6).bounding_box()
    end = cards.nth(8).bounding_box()
    assert start
    assert end
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + 20)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"], start["y"] + 40, steps=4)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 60, steps=6)
    expect(page.get_by_test_id("grid-marquee")).to_be_visible()
    page.mouse.up()
    expect(page.get_by_test_id("selection-count")).to_contain_text("3 selected")
    dragged = [int(cards.nth(i).get_attribute("data-image-id") or 0) for i in (6, 7, 8)]
    page.keyboard.press("-")  # unlabel: they stay unlabeled, and the request goes through
    expect(page.get_by_test_id("selection-count")).to_contain_text("3 images → unlabeled")
    page.keyboard.press("Control+z")
    expect(page.get_by_test_id("selection-count")).to_contain_text("Undone")
    assert all(shapes.class_of(i) is None for i in dragged)
    # Restore the shared project for the other tests.
    shapes.set_labels(selected, None)


def test_map_lasso_selects_points_and_labels_them(live: LiveApp, shapes: Shapes, page: Page) -> None:
    points = shapes.client.get(f"/api/v1/projects/{shapes.project_id}/map").raise_for_status().json()["points"]
    log_in(page, live, EMAIL, PASSWORD, f"#/projects/{shapes.project_id}/map")
    canvas = page.get_by_test_id("map-canvas")
    expect(canvas).to_have_attribute("data-points", str(len(points)))
    box = canvas.bounding_box()
    assert box
    pad = float(canvas.get_attribute("data-pad") or 0)
    w, h = box["width"], box["height"]

    def at(x: float, y: float) -> tuple[float, float]:
        return box["x"] + pad + x * (w - 2 * pad), box["y"] + pad + y * (h - 2 * pad)

    # Hovering a point shows its thumbnail.
    target = points[0]
    page.mouse.move(*at(target["x"], target["y"]))
    expect(page.get_by_test_id("map-tooltip")).to_be_visible()
    expect(page.get_by_test_id("map-tooltip").locator("img")).to_have_js_property("complete", True)

    # A free-form lasso around the left half of the plot (a polygon with many vertices).
    inside = sorted(p["image_id"] for p in points if p["x"] < 0.5)
    assert 0 < len(inside) < len(points)
    corners = [(box["x"] + 2, box["y"] + 2), (box["x"] + w / 2, box["y"] + 2),
               (box["x"] + w / 2, box["y"] + h - 2), (box["x"] + 2, box["y"] + h - 2)]
    page.mouse.move(*corners[0])
    page.mouse.down()
    for corner in corners[1:] + corners[:1]:
        page.mouse.move(*corner, steps=12)
    page.mouse.up()
    cards = page.get_by_test_id("map-card")
    expect(cards).to_have_count(len(inside))
    expect(page.get_by_test_id("map-selection-count")).to_contain_text(f"{len(inside)} in the lasso")
    assert sorted(int(cards.nth(i).get_attribute("data-image-id") or 0) for i in range(len(inside))) == inside
    expect(page.locator("[data-testid=map-card][data-selected=true]")).to_have_count(len(inside))

    triangle = shapes.class_ids["triangle"]
    page.keyboard.press("3")
    expect(page.locator(f"[data-testid=map-card][data-class-id='{triangle}']")).to_have_count(len(inside))
    _eventually(lambda: all(shapes.class_of(i) == triangle for i in inside))
    shot(page, "map-lasso", full_page=True)
    # Restore the shared project: back to the labels the fixture set.
    page.keyboard.press("Control+z")
    _eventually(lambda: sum(1 for img in shapes.images(labeled=True)) == 9)


def test_virtualised_grid_keeps_the_dom_small_at_10k_images(live: LiveApp, shapes: Shapes, page: Page) -> None:
    """The Images page over a 10,000-image listing (the listing answered by the test, thumbnails too)."""
    total = 10_000
    thumb = encode(shape_image("circle", 1, size=32))

    def listing(route: Route) -> None:
        query = dict(httpx.URL(route.request.url).params)
        offset, limit = int(query.get("offset", 0)), int(query.get("limit", 100))
        items = [{"id": 1_000_000 + i, "filename": f"img_{i:05d}.png", "width": 32, "height": 32,
                  "class_id": None, "thumbnail_url": f"/api/v1/projects/{shapes.project_id}/fake/{i}/thumbnail",
                  "file_url": ""} for i in range(offset, min(total, offset + limit))]
        route.fulfill(status=200, content_type="application/json", body=json.dumps({"items": items, "total": total}))

    page.route(re.compile(rf".*/api/v1/projects/{shapes.project_id}/images\?.*"), listing)
    page.route(re.compile(r".*/fake/\d+/thumbnail$"), lambda route: route.fulfill(
        status=200, content_type="image/png", body=thumb))
    log_in(page, live, EMAIL, PASSWORD, f"#/projects/{shapes.project_id}/images")
    expect(page.get_by_test_id("images-total")).to_have_text(re.compile(r"10,000 images"))
    cards = page.get_by_test_id("image-card")
    expect(cards.first).to_be_visible()

    def measure() -> dict[str, int]:
        counts: dict[str, int] = page.evaluate("""() => ({
            nodes: document.querySelectorAll('*').length,
            grid: document.querySelector('[data-testid=image-grid]').querySelectorAll('*').length,
            cards: document.querySelectorAll('[data-testid=image-card]').length,
            height: document.documentElement.scrollHeight,
        })""")
        return counts

    top = measure()
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight / 2)")
    expect(page.locator("[data-testid=image-card][data-index='5000']")).to_be_attached()
    middle = measure()
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    expect(page.locator("[data-testid=image-card][data-index='9999']")).to_be_visible()
    bottom = measure()
    print(f"\nvirtualised grid at {total} images: top {top}, middle {middle}, bottom {bottom}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "grid-10k-dom.json").write_text(json.dumps(
        {"images": total, "viewport": "1280x800", "top": top, "middle": middle, "bottom": bottom}, indent=2) + "\n")
    assert top["height"] > 200_000  # every row has its place: the scrollbar is true to 10k images
    for m in (top, middle, bottom):
        assert m["cards"] <= 80
        assert m["grid"] < 1000
        assert m["nodes"] < 1500
    shot(page, "grid-10k")


def test_cancel_a_running_pretrain_then_retry(live: LiveApp, shapes: Shapes, page: Page) -> None:
    project_id, _ = new_project(shapes.client, "Long pretrain", per_class=4, seed=5)
    log_in(page, live, EMAIL, PASSWORD, f"#/projects/{project_id}/jobs")
    expect(page.get_by_test_id("jobs-feed-mode")).to_have_attribute("data-mode", re.compile("live|polling"))
    page.get_by_test_id("pretrain-preset-custom").check()
    page.get_by_test_id("pretrain-epochs").fill("200")
    page.get_by_test_id("pretrain-start").click()
    row = page.locator("[data-testid=job-row][data-kind=pretrain]").first
    expect(row).to_have_attribute("data-state", "running", timeout=120_000)
    expect(row.get_by_test_id("job-speed")).not_to_have_text("—", timeout=60_000)
    expect(row.get_by_test_id("job-eta")).not_to_have_text("—")
    row.get_by_test_id("job-cancel").click()
    expect(row).to_have_attribute("data-state", "cancelled", timeout=60_000)
    expect(row.get_by_test_id("job-retry")).to_be_visible()
    shot(page, "jobs-cancelled", full_page=True)

    # Retry queues the same job again; it runs (resuming from its last checkpoint) and can be cancelled again.
    job_id = row.get_attribute("data-job-id")
    row.get_by_test_id("job-retry").click()
    expect(row).to_have_attribute("data-state", re.compile("queued|running"), timeout=30_000)
    expect(row).to_have_attribute("data-job-id", job_id or "")
    expect(row).to_have_attribute("data-state", "running", timeout=120_000)
    row.get_by_test_id("job-cancel").click()
    expect(row).to_have_attribute("data-state", "cancelled", timeout=60_000)
