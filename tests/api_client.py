"""A small REST client for tests: sign-up, tokens, and waiting for jobs."""

import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx

ClientFactory = Callable[..., httpx.Client]

FINAL = {"succeeded", "failed", "cancelled"}


def signed_up_client(http: ClientFactory, email: str, password: str = "correct horse 1") -> httpx.Client:
    """A client authenticated by an API token of a new user; ``http`` makes clients for the live app."""
    with http() as browser:
        response = browser.post("/api/v1/auth/signup", json={"email": email, "password": password})
        response.raise_for_status()
        csrf = browser.cookies["ll_csrf"]
        token = browser.post("/api/v1/tokens", json={"name": "tests"}, headers={"X-CSRF-Token": csrf})
        token.raise_for_status()
    return http(headers={"Authorization": f"Bearer {token.json()['token']}"})


def project_with_classes(client: httpx.Client, name: str, classes: Iterable[str]) -> tuple[int, dict[str, int]]:
    """A new project with the given classes: its id and the class ids by name."""
    pid: int = client.post("/api/v1/projects", json={"name": name}).raise_for_status().json()["id"]
    return pid, {c: client.post(f"/api/v1/projects/{pid}/classes", json={"name": c}).raise_for_status().json()["id"]
                 for c in classes}


def wait_job(client: httpx.Client, job_id: int, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}").raise_for_status().json()
        if job["state"] in FINAL:
            return job
        time.sleep(0.3)
    raise TimeoutError(f"job {job_id} did not finish in {timeout}s: {job}")


def file_report(client: httpx.Client, job_id: int, status: str | None = None) -> list[dict[str, Any]]:
    """Every entry of an ingest job's per-file report, read page by page."""
    entries: list[dict[str, Any]] = []
    while True:
        params: dict[str, Any] = {"offset": len(entries), "limit": 1000, **({"status": status} if status else {})}
        page = client.get(f"/api/v1/jobs/{job_id}/files", params=params).raise_for_status().json()
        entries += page["items"]
        if len(entries) >= page["total"]:
            return entries


def job_events(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The jobs carried by the ``job`` events of a project's event stream (its lines, as they arrive)."""
    event = None
    for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "job":
            yield json.loads(line[6:])


def wait_for(predicate: Any, timeout: float = 300, interval: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError("condition not met in time")
