"""Changes of a project's jobs as they happen, for the event stream (Server-Sent Events)."""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from labellight.db.models import Job
from labellight.db.session import session_scope
from labellight.jobs.routes import FINAL_STATES

POLL_SECONDS = 0.5
KEEPALIVE_SECONDS = 15.0
WATCHED_JOBS = 50


def _recent_jobs(project_id: int) -> list[Job]:
    with session_scope() as session:
        jobs = list(session.scalars(
            select(Job).where(Job.project_id == project_id).order_by(Job.id.desc()).limit(WATCHED_JOBS)
        ))
        session.expunge_all()
        return jobs


def _signature(job: Job) -> str:
    return json.dumps([job.state, job.progress, job.attempts, job.error, job.result], sort_keys=True, default=str)


async def job_changes(project_id: int, is_disconnected: Callable[[], Awaitable[bool]]) -> AsyncIterator[list[Job]]:
    """Lists of a project's changed jobs: first the unfinished ones, then every change, until the
    client leaves. An empty list means nothing changed for a while (time for a keep-alive)."""
    seen: dict[int, str] = {}
    first, quiet_since = True, time.monotonic()
    while not await is_disconnected():
        changed = []
        for job in await run_in_threadpool(_recent_jobs, project_id):
            signature = _signature(job)
            if seen.get(job.id) != signature and not (first and job.state in FINAL_STATES):
                changed.append(job)
            seen[job.id] = signature
        first = False
        if changed or time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
            quiet_since = time.monotonic()
            yield changed
        await asyncio.sleep(POLL_SECONDS)
