"""The Upload page sends files in chunks: a progress bar that moves to 100%, a dropped connection survived,
cancel removes the partial files, and the ingest report at the end."""

import contextlib
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from tests.api_client import wait_for
from tests.e2e.helpers import shot
from tests.live_app import LiveApp, live_app
from tests.synthetic_images import dataset, encode, shape_image, zip_of

CHUNK = 8192
PASSWORD = "a long password"

# Records every state of the overall progress bar; a MutationObserver sees each DOM update, however short.
RECORD_PROGRESS = """() => {
  window.__progress = [];
  const record = () => {
    const bar = document.querySelector('[data-testid=upload-progress]');
    const percent = document.querySelector('[data-testid=upload-percent]');
    if (!bar) return;
    const seen = [Number(bar.dataset.sent), Number(bar.dataset.total), percent ? percent.textContent.trim() : ''];
    const last = window.__progress[window.__progress.length - 1];
    if (!last || last.join() !== seen.join()) window.__progress.push(seen);
  };
  new MutationObserver(record).observe(document.body, {subtree: true, childList: true, attributes: true,
                                                      characterData: true});
}"""


@pytest.fixture(scope="module")
def live_chunks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """A live app whose chunk size makes a small archive take several chunks."""
    with live_app(tmp_path_factory.mktemp("labellight-e2e-upload"),
                  {"LABELLIGHT_UPLOAD_CHUNK_BYTES": str(CHUNK)}) as app:
        yield app


def _open_upload_page(page: Page, live: LiveApp, email: str) -> int:
    page.set_viewport_size({"width": 1280, "height": 800})
    page.request.post(f"{live.base_url}/api/v1/auth/signup", data={"email": email, "password": PASSWORD})
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "ll_csrf")
    created = page.request.post(f"{live.base_url}/api/v1/projects", data={"name": "Uploads"},
                                headers={"X-CSRF-Token": csrf})
    project_id: int = created.json()["id"]
    page.goto(f"{live.base_url}/#/projects/{project_id}/upload")
    expect(page.get_by_test_id("upload-submit")).to_be_enabled()
    page.evaluate(RECORD_PROGRESS)
    return project_id


def _files(tmp_path: Path) -> list[Path]:
    archive = tmp_path / "shapes.zip"
    archive.write_bytes(zip_of([(n, d) for n, _, d in dataset(per_class=10, seed=21)]))
    single = tmp_path / "lone-circle.png"
    single.write_bytes(encode(shape_image("circle", 987_654, size=96)))
    assert archive.stat().st_size > 3 * CHUNK
    return [archive, single]


class ChunkRequests:
    """Intercepts chunk PUTs: the n-th can lose its answer (the server got it) or be held back."""

    def __init__(self, lose_answer_of: int | None = None, hold: int | None = None) -> None:
        self.count = 0
        self.resumes = 0
        self.lose_answer_of, self.hold = lose_answer_of, hold
        self.held: list[Route] = []
        self.upload_ids: set[str] = set()

    def __call__(self, route: Route) -> None:
        request = route.request
        if request.method != "PUT":
            self.resumes += request.method == "GET"
            route.continue_()
            return
        self.count += 1
        self.upload_ids.add(request.url.rsplit("/", 1)[-1])
        if self.count == self.lose_answer_of:
            route.fetch()  # the chunk reaches the server ...
            route.abort("connectionreset")  # ... and the browser sees the connection drop
        elif self.count == self.hold:
            self.held.append(route)
        else:
            route.continue_()

    def wait_held(self, page: Page, timeout: float = 60) -> Route:
        deadline = time.monotonic() + timeout
        while not self.held:
            assert time.monotonic() < deadline, "no chunk request was held"
            page.wait_for_timeout(50)
        return self.held[0]


def test_chunked_upload_survives_a_dropped_connection(live_chunks: LiveApp, page: Page, tmp_path: Path) -> None:
    _open_upload_page(page, live_chunks, "chunks@example.com")
    chunks = ChunkRequests(lose_answer_of=2, hold=5)
    page.route(re.compile(r".*/api/v1/upload-sessions/[^/]+$"), chunks)
    files = _files(tmp_path)
    page.get_by_test_id("upload-input").set_input_files([str(p) for p in files])
    page.get_by_test_id("upload-submit").click()

    held = chunks.wait_held(page)
    expect(page.get_by_test_id("upload-progress")).to_be_visible()
    expect(page.get_by_test_id("upload-file").first).to_be_visible()
    # Progress reports are throttled (one per 100 ms besides state changes): wait for the bar to show bytes.
    page.wait_for_function("() => Number(document.querySelector('[data-testid=upload-progress]')"
                           "?.dataset.sent) > 0")
    sent = int(page.get_by_test_id("upload-progress").get_attribute("data-sent") or 0)
    total = int(page.get_by_test_id("upload-progress").get_attribute("data-total") or 0)
    assert 0 < sent < total
    shot(page, "upload-progress", full_page=True)
    held.continue_()

    expect(page.get_by_test_id("upload-report")).to_be_visible(timeout=120_000)
    expect(page.locator("[data-testid=upload-row][data-status=accepted]")).to_have_count(31)
    # The chunk whose answer was lost is not sent again: the client asked the server where to resume.
    assert chunks.count == sum(-(-p.stat().st_size // CHUNK) for p in files)
    assert chunks.resumes >= 1
    states: list[list[Any]] = page.evaluate("window.__progress")
    assert states[-1][:2] == [total, total]
    assert states[-1][2] == "100%"
    assert len({s[0] for s in states if 0 < s[0] < total}) >= 2, states  # the bar moved on the way


def test_u7_cancel_removes_the_partial_uploads(live_chunks: LiveApp, page: Page, tmp_path: Path) -> None:
    project_id = _open_upload_page(page, live_chunks, "cancel@example.com")
    chunks = ChunkRequests(hold=2)
    page.route(re.compile(r".*/api/v1/upload-sessions/[^/]+$"), chunks)
    page.get_by_test_id("upload-input").set_input_files([str(p) for p in _files(tmp_path)])
    page.get_by_test_id("upload-submit").click()
    held = chunks.wait_held(page)
    partials = live_chunks.data_dir / "storage" / "projects" / str(project_id) / "upload-sessions"
    wait_for(lambda: partials.is_dir() and any(partials.iterdir()), timeout=30)  # the first chunk arrived

    page.get_by_test_id("upload-cancel").click()
    expect(page.get_by_text("Upload cancelled; nothing was imported.")).to_be_visible()
    with contextlib.suppress(Exception):  # the browser already gave up on this request
        held.abort()
    assert not any(partials.iterdir())
    for upload_id in chunks.upload_ids:
        assert page.request.get(f"{live_chunks.base_url}/api/v1/upload-sessions/{upload_id}").status == 404
    assert page.request.get(f"{live_chunks.base_url}/api/v1/projects/{project_id}/jobs").json() == []
    expect(page.get_by_test_id("upload-submit")).to_have_text("Upload")
