"""Request latency as a Prometheus histogram, by method, route template and status code."""

import time

from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY = Histogram("labellight_http_request_duration_seconds", "Time to answer an HTTP request",
                    labelnames=["method", "route", "status"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0))


class RequestMetrics:
    """Times every HTTP request; the route label is the path template (``/api/v1/jobs/{job_id}``), so ids
    never multiply the series; requests that match no route count as ``unmatched``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            LATENCY.labels(scope["method"], route_template(scope), str(status)).observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The matched route's path template with the prefixes of the routers around it (the route in the scope
    is the included router's own, e.g. ``/projects/{project_id}`` under ``/api/v1``); ``unmatched`` when
    no route matched."""
    template: str | None = getattr(scope.get("route"), "path", None)
    if not template:
        return "unmatched"
    path: str = scope["path"]
    extra = path.rstrip("/").count("/") - template.rstrip("/").count("/")  # segments of the static prefixes
    return "/".join(path.split("/")[:extra + 1]) + template if extra > 0 else template
