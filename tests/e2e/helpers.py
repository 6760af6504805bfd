"""Shared steps of the e2e tests: a project of synthetic shapes prepared through the REST API, logging in,
screenshots for the docs."""

import os
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.api_client import wait_for, wait_job
from tests.live_app import LiveApp
from tests.synthetic_images import CLASSES, dataset, zip_of

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# The README's screenshots are refreshed on purpose (``make screenshots``), not by every test run.
SCREENSHOTS_ENV = "LABELLIGHT_SCREENSHOTS"


def new_project(client: httpx.Client, name: str, per_class: int, seed: int) -> tuple[int, dict[str, int]]:
    """A project with one class per shape and ``per_class`` images of each, uploaded as a .zip and ingested."""
    project_id: int = client.post("/api/v1/projects", json={"name": name}).raise_for_status().json()["id"]
    class_ids = {
        kind: client.post(f"/api/v1/projects/{project_id}/classes", json={"name": kind}).raise_for_status().json()["id"]
        for kind in CLASSES
    }
    archive = zip_of([(n, d) for n, _, d in dataset(per_class=per_class, seed=seed)])
    job = client.post(f"/api/v1/projects/{project_id}/uploads",
                      files=[("files", ("shapes.zip", archive, "application/zip"))]).raise_for_status().json()
    assert wait_job(client, job["id"])["state"] == "succeeded"
    return project_id, class_ids


def pretrained(client: httpx.Client, project_id: int) -> None:
    """Pretrain the project's backbone (2 epochs) and wait for the embedding job that follows."""
    job = client.post(f"/api/v1/projects/{project_id}/pretrain", json={"epochs": 2}).raise_for_status().json()
    assert wait_job(client, job["id"])["state"] == "succeeded"

    def embedded() -> bool:
        jobs = client.get(f"/api/v1/projects/{project_id}/jobs").raise_for_status().json()
        return any(j["kind"] == "embed" and j["state"] == "succeeded" for j in jobs)

    wait_for(embedded, timeout=300)


def log_in(page: Page, live: LiveApp, email: str, password: str, hash_path: str, width: int = 1280,
           height: int = 800) -> None:
    """Log in through the form at ``width`` x ``height``, then open ``hash_path`` (e.g. ``#/settings``)."""
    page.set_viewport_size({"width": width, "height": height})
    page.goto(live.base_url + "/")
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("current-user")).to_have_text(email)
    page.goto(live.base_url + "/" + hash_path)


def shot(page: Page, name: str, full_page: bool = False) -> None:
    """Keep a screenshot of the page as docs/screenshots/<name>.png when LABELLIGHT_SCREENSHOTS=1."""
    if os.environ.get(SCREENSHOTS_ENV) != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
