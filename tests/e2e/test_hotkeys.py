"""Hotkeys for any number of classes: 1-9, then 0, then letters, shown on the class buttons; a class button
clicked with the mouse keeps no focus ring that could read as a label."""

from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.api_client import signed_up_client, wait_for, wait_job
from tests.e2e.helpers import log_in, shot
from tests.live_app import LiveApp
from tests.synthetic_images import dataset, zip_of

EMAIL = "many-classes@example.com"
PASSWORD = "correct horse 8"
NAMES = [f"kind {i:02d}" for i in range(1, 13)]


def test_twelve_classes_are_labeled_by_keyboard(live: LiveApp, page: Page) -> None:
    def http(**kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=live.base_url, timeout=60, **kwargs)

    with signed_up_client(http, EMAIL, PASSWORD) as client:
        pid = client.post("/api/v1/projects", json={"name": "Twelve classes"}).raise_for_status().json()["id"]
        class_ids = [client.post(f"/api/v1/projects/{pid}/classes", json={"name": n}).raise_for_status().json()["id"]
                     for n in NAMES]
        hotkeys = [c["hotkey"] for c in client.get(f"/api/v1/projects/{pid}").json()["classes"]]
        assert hotkeys == ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "a", "b"]
        archive = zip_of([(n, d) for n, _, d in dataset(per_class=3, seed=51)])
        upload = client.post(f"/api/v1/projects/{pid}/uploads",
                             files=[("files", ("shapes.zip", archive, "application/zip"))]).raise_for_status()
        assert wait_job(client, upload.json()["id"])["state"] == "succeeded"

        def label_of(image_id: int) -> int | None:
            found: int | None = client.get(f"/api/v1/projects/{pid}/images/{image_id}").json()["class_id"]
            return found

        log_in(page, live, EMAIL, PASSWORD, f"#/projects/{pid}/annotate")
        current = page.get_by_test_id("annotate-current")
        expect(current).to_be_visible()
        buttons = page.get_by_test_id("class-button")
        expect(buttons).to_have_count(12)
        for i, key in enumerate(hotkeys):
            expect(buttons.nth(i).locator("kbd")).to_have_text(key)

        # The 10th class by 0, the 12th by b.
        first = int(current.get_attribute("data-image-id") or 0)
        page.keyboard.press("0")
        expect(current).not_to_have_attribute("data-image-id", str(first))
        second = int(current.get_attribute("data-image-id") or 0)
        page.keyboard.press("b")
        expect(current).not_to_have_attribute("data-image-id", str(second))
        wait_for(lambda: label_of(first) == class_ids[9] and label_of(second) == class_ids[11], timeout=15)

        # The 11th class clicked with the mouse, then a hotkey: no focus ring stays on the clicked button.
        third = int(current.get_attribute("data-image-id") or 0)
        buttons.nth(10).click()
        expect(current).not_to_have_attribute("data-image-id", str(third))
        fourth = int(current.get_attribute("data-image-id") or 0)
        page.keyboard.press("1")
        expect(current).not_to_have_attribute("data-image-id", str(fourth))
        focused = page.evaluate("document.activeElement?.getAttribute('data-testid') ?? null")
        assert focused != "class-button"
        assert buttons.nth(10).evaluate("b => b.matches(':focus-visible')") is False
        wait_for(lambda: label_of(third) == class_ids[10] and label_of(fourth) == class_ids[0], timeout=15)
        shot(page, "annotate-twelve-classes")
