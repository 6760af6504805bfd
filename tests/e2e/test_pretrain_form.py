"""Pretraining for people: presets named by time and purpose, a plain explanation of BYOL and of starting from
pretrained weights, the start choice, an estimate before starting, and the outcome in words afterwards."""

import json
import re
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.api_client import signed_up_client, wait_job
from tests.e2e.helpers import log_in, new_project, shot
from tests.live_app import LiveApp

EMAIL = "pretrainer@example.com"
PASSWORD = "correct horse 7"


def test_pretrain_form_explains_estimates_and_tells_the_outcome(live: LiveApp, page: Page) -> None:
    def http(**kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=live.base_url, timeout=60, **kwargs)

    with signed_up_client(http, EMAIL, PASSWORD) as client:
        pid, _ = new_project(client, "Pretrain form", per_class=4, seed=41)
        log_in(page, live, EMAIL, PASSWORD, f"#/projects/{pid}/jobs")

        help_text = page.get_by_test_id("pretrain-help")
        help_text.locator("summary").click()
        expect(help_text).to_contain_text("BYOL")
        expect(help_text).to_contain_text("without any labels")
        expect(help_text).to_contain_text("ImageNet")
        for name in ("Quick look — 5 min", "Standard — 20 min", "Thorough — 60 min"):
            expect(page.get_by_test_id("pretrain-presets")).to_contain_text(name)
        expect(page.get_by_test_id("pretrain-preset-quick")).to_be_checked()
        expect(page.get_by_test_id("pretrain-estimate")).to_contain_text("About 5m 00s of training")
        page.get_by_test_id("pretrain-preset-standard").check()
        expect(page.get_by_test_id("pretrain-estimate")).to_contain_text("About 20m 00s of training")
        expect(page.get_by_test_id("pretrain-start-previous")).to_be_disabled()  # nothing to continue yet
        expect(page.get_by_test_id("pretrain-start-auto")).to_be_checked()
        shot(page, "pretrain-form", full_page=True)

        # A preset asks for its time budget; cancelled, it says that nothing changed.
        page.get_by_test_id("pretrain-preset-quick").check()
        with page.expect_request(re.compile(r".*/pretrain$")) as sent:
            page.get_by_test_id("pretrain-start").click()
        assert json.loads(sent.value.post_data or "{}") == {"time_budget_s": 300, "start": "auto"}
        expect(page.get_by_test_id("pretrain-running")).to_be_visible()
        quick = next(j for j in client.get(f"/api/v1/projects/{pid}/jobs").json() if j["kind"] == "pretrain")
        client.post(f"/api/v1/jobs/{quick['id']}/cancel").raise_for_status()
        result = page.get_by_test_id("pretrain-result")
        expect(result).to_have_attribute("data-state", "cancelled", timeout=120_000)
        expect(result).to_contain_text("Nothing changed")

        # Custom: one epoch at 16 px from scratch; the estimate names the epochs, the outcome says what was kept.
        page.get_by_test_id("pretrain-preset-custom").check()
        page.get_by_test_id("pretrain-epochs").fill("1")
        expect(page.get_by_test_id("pretrain-estimate")).to_contain_text("1 pass over 12 images")
        page.get_by_test_id("pretrain-start-scratch").check()
        page.get_by_text("Advanced").click()
        page.get_by_test_id("pretrain-image-size").fill("16")
        with page.expect_request(re.compile(r".*/pretrain$")) as sent:
            page.get_by_test_id("pretrain-start").click()
        assert json.loads(sent.value.post_data or "{}") == {"epochs": 1, "start": "scratch", "image_size": 16}
        expect(result).to_have_attribute("data-state", "succeeded", timeout=300_000)
        job = next(j for j in client.get(f"/api/v1/projects/{pid}/jobs").json() if j["kind"] == "pretrain")
        job = wait_job(client, job["id"])
        kept = job["result"]["kept"]
        expect(result).to_have_attribute("data-kept", kept)
        words = "Kept the trained network." if kept == "pretrained" else "Discarded the trained network."
        expect(result).to_contain_text(words)
        if job["result"].get("reason") not in (None, "", "no guard"):
            expect(result).to_contain_text(job["result"]["reason"])
        shot(page, "pretrain-outcome")
