"""The built SPA against a live LabelLight, driven by Playwright in Debian's Chromium."""

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.live_app import LiveApp, live_app

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"],
    }


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    # The pages are driven through pretraining a small network from scratch (fast on a CPU), so projects do
    # not get the frozen ImageNet start here; tests/integration/test_loop.py covers the pretrained default.
    with live_app(tmp_path_factory.mktemp("labellight-e2e"), {"LABELLIGHT_PRETRAINED": "false"}) as app:
        yield app


_CALL_FAILED = pytest.StashKey[bool]()
FAILURE_SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "e2e-failures"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed


@pytest.fixture(autouse=True)
def _screenshot_on_failure(request: pytest.FixtureRequest, page: Page) -> Iterator[None]:
    """Keep a screenshot of the browser page of every failed test (test-results/e2e-failures/).

    It depends on ``page`` so that it is torn down first, while the page is still open.
    """
    yield
    if not request.node.stash.get(_CALL_FAILED, False):
        return
    FAILURE_SHOTS.mkdir(parents=True, exist_ok=True)
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in request.node.name)
    # A screenshot must never hide the test's own failure.
    with contextlib.suppress(Exception):
        page.screenshot(path=str(FAILURE_SHOTS / f"{name}.png"), full_page=False)
