"""A new user walks the whole loop in the browser: sign-up, project, zip upload, pretrain, label, train, predict."""

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.helpers import shot
from tests.live_app import LiveApp
from tests.synthetic_images import CLASSES, dataset, encode, shape_image, zip_of


def _shot(page: Page, name: str) -> None:
    shot(page, name, full_page=True)


def test_the_loop_in_the_browser(live: LiveApp, page: Page, tmp_path: Path) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live.base_url + "/")
    page.get_by_test_id("show-signup").click()
    page.get_by_test_id("signup-email").fill("e2e@example.com")
    page.get_by_test_id("signup-password").fill("a long password")
    page.get_by_test_id("signup-submit").click()

    page.get_by_test_id("project-name").fill("Shapes in the browser")
    page.get_by_test_id("project-create").click()
    page.get_by_test_id("project-link").filter(has_text="Shapes in the browser").click()
    for name in CLASSES:
        page.get_by_test_id("class-name").fill(name)
        page.get_by_test_id("class-add").click()
        expect(page.get_by_test_id("class-item").filter(has_text=name)).to_be_visible()

    archive = tmp_path / "shapes.zip"
    archive.write_bytes(zip_of([(n, d) for n, _, d in dataset(per_class=10, seed=3)]))
    page.get_by_test_id("nav-upload").click()
    page.get_by_test_id("upload-input").set_input_files(str(archive))
    page.get_by_test_id("upload-submit").click()
    expect(page.get_by_test_id("upload-report")).to_be_visible(timeout=120_000)
    expect(page.locator("[data-testid=upload-row][data-status=accepted]")).to_have_count(30)
    _shot(page, "upload-report")

    page.get_by_test_id("nav-jobs").click()
    page.get_by_test_id("pretrain-preset-custom").check()
    page.get_by_test_id("pretrain-epochs").fill("2")
    page.get_by_test_id("pretrain-start").click()
    expect(page.locator("[data-testid=job-row][data-kind=embed][data-state=succeeded]")).to_have_count(
        1, timeout=300_000)
    _shot(page, "jobs")

    page.get_by_test_id("nav-label").click()
    page.get_by_test_id("suggest-strategy").select_option("random")
    page.get_by_test_id("suggest-count").fill("30")
    page.get_by_test_id("suggest-button").click()
    cards = page.get_by_test_id("suggestion")
    expect(cards).to_have_count(30)
    class_buttons = page.get_by_test_id("class-button")
    for index, kind in enumerate(CLASSES[:2]):
        chosen = cards.filter(has=page.locator(f"img[alt^='{kind}_']"))
        for i in range(4):
            chosen.nth(i).click()
        class_buttons.nth(index).click()
        expect(page.locator(f"[data-testid=suggestion][data-class-id='{_class_id(page, index)}']")).to_have_count(4)
    _shot(page, "label")

    page.get_by_test_id("nav-train").click()
    page.get_by_test_id("train-start").click()
    expect(page.get_by_test_id("cv-accuracy")).to_have_text(re.compile(r"\d+(\.\d+)?\s*%"), timeout=120_000)
    _shot(page, "train")

    query = tmp_path / "query.png"
    query.write_bytes(encode(shape_image("circle", 424_242)))
    page.get_by_test_id("nav-predict").click()
    page.get_by_test_id("predict-input").set_input_files(str(query))
    page.get_by_test_id("predict-submit").click()
    row = page.get_by_test_id("prediction-row").first
    expect(row).to_contain_text(re.compile("circle|square"))
    _shot(page, "predict")


def _class_id(page: Page, index: int) -> str:
    value = page.get_by_test_id("class-button").nth(index).get_attribute("data-class-id")
    assert value
    return value
