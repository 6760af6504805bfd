"""Probes and metrics for whoever runs the server: /healthz, /readyz and /metrics (outside /api/v1, without
authentication; /metrics can be switched off with LABELLIGHT_METRICS=false)."""

import threading
from typing import Literal

from fastapi import APIRouter, HTTPException, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from pydantic import BaseModel

from labellight.config import get_settings
from labellight.services import readiness
from labellight.services.metrics import GpuCollector, JobCollector

router = APIRouter(tags=["operations"], include_in_schema=False)  # for operators, not the SPA: docs/operations.md


class HealthPublic(BaseModel):
    status: Literal["ok"]


class ReadinessPublic(BaseModel):
    status: Literal["ready", "not ready"]
    checks: dict[str, Literal["ok", "failing"]]
    """database, broker, storage, worker"""

_registered = threading.Lock()
_collectors: list[object] = []


def register_collectors() -> None:
    """The database-backed and GPU collectors join the process's default registry once per process."""
    with _registered:
        if not _collectors:
            _collectors.extend((JobCollector(), GpuCollector()))
            for collector in _collectors:
                REGISTRY.register(collector)  # type: ignore[arg-type]


@router.get("/healthz")
def healthz() -> HealthPublic:
    """The process is up and answers (nothing else is checked)."""
    return HealthPublic(status="ok")


@router.get("/readyz", responses={503: {"model": ReadinessPublic, "description": "a part is not ready"}})
def readyz() -> JSONResponse:
    """The database, the broker, the storage and a live worker answer; 503 names the parts that do not
    (their errors go to the server's log only)."""
    found = readiness.readiness()
    body = ReadinessPublic(status="ready" if found.ready else "not ready",
                           checks={name: "ok" if ok else "failing" for name, ok in found.checks.items()})
    return JSONResponse(body.model_dump(), status_code=200 if found.ready else 503)


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}})
def metrics() -> Response:
    """Prometheus metrics: jobs by kind and state, queue depth and age, request latency, query inference,
    images per second of running jobs, GPU use when there is a GPU."""
    if not get_settings().metrics:
        raise HTTPException(404, "metrics are switched off (LABELLIGHT_METRICS=false)")
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
