"""A model no better than guessing looks like one in the browser.

Shapes labeled so that every label holds as many circles as squares and triangles: the classifier
cannot beat guessing. The Model page's health panel says so, with chance and the majority class as
numbers and as a band on the learning curve, and the pretraining's outcome in words; Review offers no
"Accept" for suspected mislabels and no bulk confirmation of propagated labels; the Jobs list says
what the pretraining kept; Train and Overview carry the same verdict.
"""

import re
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.api_client import signed_up_client, wait_for, wait_job
from tests.e2e.helpers import log_in, new_project, shot
from tests.live_app import LiveApp
from tests.synthetic_images import CLASSES

EMAIL = "doubter@example.com"
PASSWORD = "correct horse 3"
LABELED_PER_CLASS = 9  # 3 of each shape under each label


def _settle(client: httpx.Client, pid: int) -> None:
    """Wait until no job of the project is queued or running (labels queue retrains by themselves)."""
    wait_for(lambda: all(j["state"] not in ("queued", "running")
                         for j in client.get(f"/api/v1/projects/{pid}/jobs").raise_for_status().json()), timeout=300)


def _misleadingly_labeled(client: httpx.Client) -> tuple[int, dict[str, Any]]:
    """A pretrained project whose classifier was trained on labels that disagree with the images."""
    pid, class_ids = new_project(client, "Misleading labels", per_class=12, seed=31)
    job = client.post(f"/api/v1/projects/{pid}/pretrain", json={"epochs": 1, "image_size": 16})
    pretrain = wait_job(client, job.raise_for_status().json()["id"])
    assert pretrain["state"] == "succeeded", pretrain
    wait_for(lambda: client.get(f"/api/v1/projects/{pid}").json()["backbone_version"] == 1, timeout=300)
    listing = client.get(f"/api/v1/projects/{pid}/images", params={"limit": 1000}).raise_for_status().json()["items"]
    for kind in CLASSES:
        ids = [i["id"] for i in listing if i["filename"].startswith(kind)][:LABELED_PER_CLASS]
        for offset, label in enumerate(CLASSES):
            client.put(f"/api/v1/projects/{pid}/labels",
                       json={"image_ids": ids[offset::3], "class_id": class_ids[label]}).raise_for_status()
    _settle(client, pid)
    trained = wait_job(client, client.post(f"/api/v1/projects/{pid}/train").raise_for_status().json()["id"])
    assert trained["state"] == "succeeded", trained
    return pid, pretrain


def test_a_useless_model_is_marked_and_review_holds_back(live: LiveApp, page: Page) -> None:
    def http(**kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=live.base_url, timeout=60, **kwargs)

    with signed_up_client(http, EMAIL, PASSWORD) as client:
        pid, pretrain = _misleadingly_labeled(client)
        model = client.get(f"/api/v1/projects/{pid}/model").raise_for_status().json()
    assert model["trust"]["trustworthy"] is False, model["trust"]

    log_in(page, live, EMAIL, PASSWORD, f"#/projects/{pid}/model")
    health = page.get_by_test_id("health-classifier")
    expect(health).to_have_attribute("data-trustworthy", "false")
    expect(health).to_contain_text(re.compile(r"The classifier is not (reliably )?better than"))
    expect(health).to_contain_text("review suggestions are held back")
    expect(page.get_by_test_id("health-chance")).to_have_text("33.3%")
    expect(page.get_by_test_id("health-majority")).to_have_text("33.3%")
    expect(page.get_by_test_id("model-chance")).to_have_text("33.3%")
    expect(page.get_by_test_id("learning-curve-band")).to_be_visible()
    features = page.get_by_test_id("health-features")
    expect(features).to_have_attribute("data-kept", pretrain["result"]["kept"])
    if pretrain["result"]["kept"] == "initial":
        expect(features).to_contain_text("Pretraining did not improve the features: the starting network was kept")
    expect(features).to_contain_text(pretrain["result"]["reason"])
    shot(page, "model-untrusted", full_page=True)

    page.goto(f"{live.base_url}/#/projects/{pid}/review")
    page.get_by_test_id("review-view-mislabels").click()
    expect(page.get_by_test_id("review-held-back")).to_contain_text("Suspected mislabels are held back")
    expect(page.get_by_test_id("mislabel-accept")).to_have_count(0)
    shot(page, "review-held-back")
    page.get_by_test_id("review-view-propagated").click()
    expect(page.get_by_test_id("review-held-back")).to_contain_text("Propagated labels are held back")
    expect(page.get_by_test_id("propagated-confirm-all")).to_have_count(0)
    expect(page.get_by_test_id("propagated-confirm")).to_have_count(0)
    page.get_by_test_id("review-view-predictions").click()
    expect(page.get_by_test_id("review-untrusted")).to_be_visible()

    page.goto(f"{live.base_url}/#/projects/{pid}/train")
    expect(page.get_by_test_id("train-trust")).to_have_attribute("data-trustworthy", "false")
    page.goto(f"{live.base_url}/#/projects/{pid}")
    expect(page.get_by_test_id("health-classifier")).to_have_attribute("data-trustworthy", "false")

    page.goto(f"{live.base_url}/#/projects/{pid}/jobs")
    row = page.locator(f"[data-testid=job-row][data-job-id='{pretrain['id']}']")
    expect(row.get_by_test_id("job-outcome")).to_have_attribute("data-kept", pretrain["result"]["kept"])
    expect(page.get_by_test_id("pretrain-outcome")).to_have_attribute("data-kept", pretrain["result"]["kept"])
    shot(page, "jobs-pretrain-outcome")
