"""A worker's liveness, as its sweeper last found it: written to a small file per worker process under
``<data_dir>/workers/`` and judged by `labellight worker-health` and by `labellight run`'s supervisor.

A worker is unhealthy when its sweeper found jobs of its queues waiting past
``LABELLIGHT_WORKER_STALL_SECONDS`` with a pool process free (it accepts jobs but no longer runs them:
QUALITY J11), or when the sweeper stopped reporting (the process is gone or frozen)."""

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labellight.config import get_settings
from labellight.jobs.sweeper import SweepReport

FOLDER = "workers"


@dataclass(frozen=True)
class Verdict:
    healthy: bool
    reason: str


def _folder() -> Path:
    return get_settings().data_dir.resolve() / FOLDER


def _path(pid: int, host: str) -> Path:
    return _folder() / f"{host}-{pid}.json"


def record(report: SweepReport, queues: list[str], concurrency: int) -> None:
    """Write this process's latest sweep (atomically: a reader sees the old or the new file)."""
    path = _path(os.getpid(), socket.gethostname())
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"pid": os.getpid(), "host": socket.gethostname(), "queues": queues, "concurrency": concurrency,
             "checked_at": time.time(), "running": report.running,
             "stalled": {str(job_id): seconds for job_id, seconds in report.stalled.items()}}
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(state))
    os.replace(temporary, path)


def forget(pid: int | None = None) -> None:
    """Remove the file of worker ``pid`` of this host (default: this process), when it stops."""
    _path(os.getpid() if pid is None else pid, socket.gethostname()).unlink(missing_ok=True)


def report_age_limit_s() -> float:
    """How old the latest report may be: a few sweep intervals, at least a minute (a slow database)."""
    return max(3 * get_settings().sweep_interval_seconds, 60.0)


def check(pid: int | None = None) -> Verdict:
    """Judge the worker process ``pid`` of this host, or the one that reported last."""
    host = socket.gethostname()
    if pid is not None:
        candidates = [_path(pid, host)]
    else:
        candidates = sorted(_folder().glob(f"{host}-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    try:
        state = json.loads(candidates[0].read_text())
    except (IndexError, FileNotFoundError, json.JSONDecodeError):
        return Verdict(False, f"no worker on {host} has reported (under {_folder()})")
    return _judge(state)


def any_healthy() -> Verdict:
    """Whether some worker of any host sharing the data folder reported lately and runs the jobs it accepts
    (the readiness probe's question); the reason names the first unhealthy one when none is healthy."""
    verdicts = []
    for path in sorted(_folder().glob("*.json")):
        try:
            verdicts.append(_judge(json.loads(path.read_text())))
        except (FileNotFoundError, json.JSONDecodeError, KeyError, ValueError):
            continue  # a worker that just stopped, or a file being replaced
    healthy = [v for v in verdicts if v.healthy]
    if healthy:
        return healthy[0]
    return verdicts[0] if verdicts else Verdict(False, f"no worker has reported (under {_folder()})")


def _judge(state: dict[str, Any]) -> Verdict:
    age = time.time() - float(state["checked_at"])
    if age > report_age_limit_s():
        return Verdict(False, f"worker {state['pid']} last reported {age:.0f} s ago: it is gone or frozen")
    if state["stalled"]:
        waits = ", ".join(f"job {job_id} for {seconds:.0f} s" for job_id, seconds in state["stalled"].items())
        return Verdict(False, f"worker {state['pid']} accepts jobs but runs none: queued {waits} with "
                              f"{state['running']} of {state['concurrency']} pool processes busy")
    return Verdict(True, f"worker {state['pid']} ({','.join(state['queues'])}) reported {age:.0f} s ago: "
                         f"{state['running']} job(s) running, none stalled")
