"""A first run that guides, the Jobs list for people, and view state kept in the URL, in the browser.

Guide: the project's pages are grouped (Data, Label, Model, Jobs), the Overview's "Next steps" ticks itself from
the project's state and links the next action, strategies and a suggestion's reason read in plain words. Jobs:
filters (kept in the URL), durations, one-line results, and automatic retrains folded into one row. URL state:
the image filter survives a reload and the Review sub-tab survives Back.

One project, set up through the REST API, is shared by the tests, in order.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.api_client import signed_up_client, wait_for
from tests.e2e.helpers import log_in, new_project, pretrained, shot
from tests.live_app import LiveApp
from tests.synthetic_images import CLASSES

PASSWORD = "correct horse 11"
EMAIL = "guide@example.com"


@dataclass
class Guide:
    client: httpx.Client
    project_id: int
    class_ids: dict[str, int]

    @property
    def base(self) -> str:
        return f"/api/v1/projects/{self.project_id}"

    def get(self, path: str, **query: Any) -> Any:
        return self.client.get(f"{self.base}{path}", params=query).raise_for_status().json()

    def settle(self) -> None:
        wait_for(lambda: all(j["state"] not in ("queued", "running") for j in self.get("/jobs")), timeout=300)


@pytest.fixture(scope="module")
def guide(live: LiveApp) -> Iterator[Guide]:
    client = signed_up_client(lambda **kw: httpx.Client(base_url=live.base_url, timeout=60, **kw), EMAIL, PASSWORD)
    project_id, class_ids = new_project(client, "Guide", per_class=5, seed=47)
    yield Guide(client, project_id, class_ids)
    client.close()


def _open(page: Page, live: LiveApp, guide: Guide, tab: str) -> None:
    log_in(page, live, EMAIL, PASSWORD, f"#/projects/{guide.project_id}/{tab}")


def _step(page: Page, step: str) -> Any:
    return page.locator(f"[data-testid=step][data-step={step}]")


def test_next_steps_tick_themselves_and_pages_are_grouped(page: Page, live: LiveApp, guide: Guide) -> None:
    _open(page, live, guide, "overview")
    groups = page.get_by_test_id("nav-group")
    expect(groups).to_have_count(4)
    label_group = page.locator("[data-testid=nav-group][data-group=Label]")
    for tab in ("annotate", "label", "review"):
        expect(label_group.get_by_test_id(f"nav-{tab}")).to_be_visible()
    expect(page.locator("[data-testid=nav-group][data-group=Model]").get_by_test_id("nav-train")).to_be_visible()

    # Uploaded but not pretrained: the upload step is ticked and the next action is pretraining.
    expect(_step(page, "upload")).to_have_attribute("data-done", "true")
    expect(_step(page, "features")).to_have_attribute("data-done", "false")
    expect(_step(page, "features")).to_have_attribute("data-next", "true")
    expect(page.get_by_test_id("next-action")).to_have_text("Next: Pretrain")
    expect(page.get_by_test_id("next-action")).to_have_attribute("href", re.compile(r"/jobs$"))

    pretrained(guide.client, guide.project_id)
    page.reload()
    expect(_step(page, "features")).to_have_attribute("data-done", "true")
    expect(_step(page, "label")).to_have_attribute("data-next", "true")
    expect(_step(page, "train")).to_have_attribute("data-done", "false")
    shot(page, "overview-next-steps")

    page.get_by_test_id("next-action").click()
    expect(page.get_by_test_id("nav-label")).to_have_attribute("aria-current", "page")
    expect(page.get_by_test_id("tab-help")).to_contain_text("batch")
    menu = page.get_by_test_id("suggest-strategy")
    expect(menu.locator("option[value=cold_start]")).to_have_text("Typical images of each group (TypiClust)")
    expect(menu.locator("option[value=auto]")).to_have_text(re.compile(r"^Best next images"))
    menu.select_option("cold_start")
    page.get_by_test_id("suggest-count").fill("3")
    page.get_by_test_id("suggest-button").click()
    reasons = page.get_by_test_id("suggestion-reason")
    expect(reasons).to_have_count(3)
    typical = re.compile(r"^Typical of (a large group|a group of \d+ images).* not yet labeled$")
    expect(reasons.first).to_have_text(typical)
    expect(reasons.first).not_to_contain_text("typicality")
    expect(reasons.first).to_have_attribute("title", re.compile(r"typicality: \d"))


def test_jobs_list_folds_automatic_retrains_and_filters(page: Page, live: LiveApp, guide: Guide) -> None:
    images = guide.get("/images", limit=1000)["items"]
    # Labels in two rounds of six: each round (five new labels or more) retrains the classifier by itself.
    for start in (0, 2):
        for kind in CLASSES:
            ids = [i["id"] for i in images if i["filename"].startswith(kind)][start:start + 2]
            guide.client.put(f"{guide.base}/labels", json={"image_ids": ids, "class_id": guide.class_ids[kind]}
                             ).raise_for_status()
        guide.settle()
    jobs = guide.get("/jobs")
    retrains = [j for j in jobs if j["kind"] == "train" and (j["result"] or {}).get("automatic")]
    assert len(retrains) >= 2, jobs

    _open(page, live, guide, "jobs")
    group = page.get_by_test_id("retrain-group")
    expect(group).to_have_count(1)
    expect(group).to_have_attribute("data-count", str(len(retrains)))
    expect(group).to_contain_text(f"{len(retrains)} automatic retrains")
    latest = re.compile(r"latest: Classifier \d+ on \d+ labels")
    expect(page.get_by_test_id("retrain-group-latest")).to_contain_text(latest)
    expect(page.locator("[data-testid=job-row][data-kind=train]")).to_have_count(0)
    page.get_by_test_id("retrain-group-toggle").click()
    expect(page.locator("[data-testid=job-row][data-kind=train]")).to_have_count(len(retrains))

    ingest = page.locator("[data-testid=job-row][data-kind=ingest]")
    added = re.compile(r"^\d+ images added, 0 duplicates, 0 rejected$")
    expect(ingest.get_by_test_id("job-summary")).to_have_text(added)
    expect(ingest.get_by_test_id("job-duration")).to_have_text(re.compile(r"^(\d+m )?\d+s$"))
    shot(page, "jobs-folded")

    page.get_by_test_id("jobs-filter-kind").select_option("embed")
    expect(page.get_by_test_id("job-row")).to_have_count(sum(j["kind"] == "embed" for j in jobs))
    expect(page.get_by_test_id("retrain-group")).to_have_count(0)
    page.get_by_test_id("jobs-filter-state").select_option("failed")
    expect(page.get_by_test_id("job-row")).to_have_count(0)
    expect(page.get_by_test_id("jobs-shown")).to_have_text(f"0 of {len(jobs)} jobs")
    assert "kind=embed" in page.url
    assert "state=failed" in page.url
    page.reload()
    expect(page.get_by_test_id("jobs-filter-kind")).to_have_value("embed")
    expect(page.get_by_test_id("jobs-filter-state")).to_have_value("failed")


def test_filters_and_review_tab_survive_reload_and_back(page: Page, live: LiveApp, guide: Guide) -> None:
    _open(page, live, guide, "images")
    page.get_by_test_id("filter-labeled").click()
    labeled = guide.get("/images", labeled=True, limit=1)["total"]
    expect(page.get_by_test_id("images-total")).to_contain_text(str(labeled))
    assert "filter=labeled" in page.url
    page.reload()
    expect(page.get_by_test_id("filter-labeled")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("images-total")).to_contain_text(str(labeled))

    page.get_by_test_id("nav-review").click()
    page.get_by_test_id("review-view-mislabels").click()
    assert "view=mislabels" in page.url
    page.get_by_test_id("nav-model").click()
    expect(page.get_by_test_id("nav-model")).to_have_attribute("aria-current", "page")
    page.go_back()
    expect(page.get_by_test_id("review-view-mislabels")).to_have_attribute("aria-pressed", "true")
    page.reload()
    expect(page.get_by_test_id("review-view-mislabels")).to_have_attribute("aria-pressed", "true")
    page.go_back()
    expect(page.get_by_test_id("filter-labeled")).to_have_attribute("aria-pressed", "true")
