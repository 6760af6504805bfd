"""The worker's sweeper: re-queue jobs whose worker died, send again the queued jobs that no worker
claimed, and notice a worker that accepts jobs but no longer runs them (QUALITY J11)."""

import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from labellight.config import get_settings
from labellight.db.session import session_scope
from labellight.jobs import rows as job_rows
from labellight.jobs.routes import QUEUES, JobKind, JobState
from labellight.jobs.transport import send_job

log = logging.getLogger(__name__)

MAX_RESEND_INTERVAL_S = 3600.0


@dataclass
class _Waiting:
    """One queued job as the sweeper has watched it (monotonic seconds)."""

    seen_at: float
    send_at: float
    interval: float
    delivered: bool = False
    """Whether a send of ours reached the broker: a job waits on the workers only once it did."""


@dataclass(frozen=True)
class SweepReport:
    sent: int
    running: int
    stalled: dict[int, float]
    """Queued jobs (id -> seconds watched) that waited past ``worker_stall_seconds`` while a pool
    process of this worker had nothing to run: the worker accepts jobs but no longer runs them."""


@dataclass
class QueueWatch:
    """What one worker's sweeper remembers between rounds, for the queues that the worker consumes.

    A queued job is sent at once when the watch starts (an embedded broker loses the message of a task
    whose worker was killed), then again ``requeue_after`` after it was first seen, at doubling
    intervals: a send that failed or a message lost with a worker never leaves it queued for good, and a
    long backlog behind a busy worker does not pile up messages. A second delivery is harmless because
    claiming is atomic."""

    queues: frozenset[str]
    concurrency: int
    clock: Callable[[], float] = time.monotonic
    _waiting: dict[int, _Waiting] = field(default_factory=dict, init=False)
    _started: bool = field(default=False, init=False)

    @property
    def kinds(self) -> list[JobKind]:
        return [kind for kind, queue in QUEUES.items() if queue in self.queues]

    def sweep(self) -> SweepReport:
        settings = get_settings()
        to_send = _requeue_stale_running(settings.job_max_attempts)
        now = self.clock()
        with session_scope() as session:
            queued = {job.id: JobKind(job.kind) for job in job_rows.queued_jobs(session, self.kinds)}
            running = job_rows.running_count(session, self.kinds)
        self._watch(queued, now, settings.requeue_after_seconds)
        for job_id, waiting in self._waiting.items():
            if waiting.send_at <= now or job_id in to_send:
                to_send[job_id] = queued[job_id]
                waiting.send_at = now + waiting.interval
                waiting.interval = min(2 * waiting.interval, MAX_RESEND_INTERVAL_S)
        sent = {job_id: send_job(kind, job_id) for job_id, kind in to_send.items()}
        for job_id, delivered in sent.items():
            if job_id in self._waiting:
                self._waiting[job_id].delivered |= delivered
        if sent:
            log.info("sweeper sent job(s) %s again", sorted(sent))
        return SweepReport(len(sent), running, self._stalled(now, running, settings.worker_stall_seconds))

    def _watch(self, queued: Collection[int], now: float, requeue_after: float) -> None:
        """Forget jobs that left the queue; start watching new ones (sent at once in the first round)."""
        self._waiting = {job_id: w for job_id, w in self._waiting.items() if job_id in queued}
        first_send = now + requeue_after if self._started else now
        for job_id in queued:
            self._waiting.setdefault(job_id, _Waiting(now, first_send, requeue_after))
        self._started = True

    def _stalled(self, now: float, running: int, stall_after: float) -> dict[int, float]:
        if running >= self.concurrency:
            return {}
        return {job_id: round(now - w.seen_at, 1) for job_id, w in self._waiting.items()
                if w.delivered and now - w.seen_at >= stall_after}


def _requeue_stale_running(max_attempts: int) -> dict[int, JobKind]:
    """Jobs whose lease ran out (their worker died) go back to the queue, unless the user cancelled them
    meanwhile (they end cancelled: a queued job with a cancel request is never claimed) or they are out of
    attempts (they fail)."""
    to_send: dict[int, JobKind] = {}
    with session_scope() as session:
        for job in job_rows.stale_running_jobs(session):
            if job.cancel_requested:
                job_rows.finish_job(session, job.id, JobState.CANCELLED,
                                    progress={**job.progress, "stage": JobState.CANCELLED.value})
            elif job.attempts >= max_attempts:
                job_rows.finish_job(session, job.id, JobState.FAILED,
                                    error=f"the worker stopped during this job {job.attempts} times; giving up")
            else:
                job.state = JobState.QUEUED.value
                job.lease_expires_at = None
                to_send[job.id] = JobKind(job.kind)
    return to_send
