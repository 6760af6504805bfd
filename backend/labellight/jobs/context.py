"""What a running job's code sees: its typed params, a progress reporter that heartbeats, a cancel check;
and the exceptions a handler raises to end its job."""

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from labellight.config import get_settings
from labellight.db.session import session_scope
from labellight.jobs import rows as job_rows
from labellight.jobs.fence import Fence, hold_for_commit
from labellight.jobs.payloads import JobParams

log = logging.getLogger(__name__)


P = TypeVar("P", bound=JobParams)


class JobCancelled(Exception):
    """Raised inside a job when the user asked to cancel it: the one cancellation the runner knows, so a
    handler whose library stops with its own exception (pretraining, fine-tuning) raises this one from it."""


class LeaseLost(Exception):
    """This attempt no longer holds the job (it was presumed dead and handed on): stop without a trace."""


class JobFailed(Exception):
    """A failure with a message meant for the user (bad input, nothing to do...)."""


@dataclass
class JobContext(Generic[P]):
    job_id: int
    project_id: int
    params: P
    attempt: int
    min_interval_s: float = 1.0
    progress_floor: float = 0.0
    """The fraction already published (by an earlier attempt or run): a resumed job never shows less."""
    _last_beat: float = field(default=0.0, init=False)
    _cancel: bool = field(default=False, init=False)
    _progress: dict[str, Any] = field(default_factory=dict, init=False)
    _lost: bool = field(default=False, init=False)

    def report(self, stage: str, fraction: float, *, force: bool = False, **metrics: Any) -> None:
        """Store progress (at most once per ``min_interval_s`` unless forced); raise if cancelled.

        The fraction never goes below ``progress_floor`` nor below an earlier report: a retry that
        starts over, or a stage that counts from zero, holds the bar where it was until it passes it."""
        published = max(min(max(fraction, 0.0), 1.0), self.progress_floor)
        self.progress_floor = published
        self._progress = {"stage": stage, "fraction": round(published, 4), **metrics}
        self._beat(force)
        if self._cancel:
            raise JobCancelled()

    def should_stop(self) -> bool:
        """A cheap cancel check for tight loops: it reads the database at most once per interval."""
        self._beat(False)
        return self._cancel

    def confirm_commit(self, session: Session) -> None:
        """Call in the transaction that ships the job's result, before it commits: a cancel that arrived
        before this point ends the job cancelled with nothing shipped (the transaction rolls back); one
        that arrives later waits for the commit and finds the result shipped."""
        fence = hold_for_commit(session, self.project_id, self.job_id, self.attempt, get_settings().job_lease_seconds)
        if fence is Fence.LOST:
            self._lost = True
            raise LeaseLost(f"job {self.job_id} attempt {self.attempt} may no longer commit: its project or job "
                            "was deleted, or another attempt runs it")
        if fence is Fence.CANCELLED:
            self._cancel = True
            raise JobCancelled()

    @property
    def progress(self) -> dict[str, Any]:
        return dict(self._progress)

    @contextmanager
    def lease_kept(self) -> Iterator[None]:
        """Extend the lease from a background thread while the block runs, so that long steps without
        progress (planning, a quality check) never look like a dead worker. A killed process stops the
        thread too, and then the lease runs out as it should."""
        stop = threading.Event()
        interval = max(get_settings().job_lease_seconds / 4, 0.5)

        def keep() -> None:
            while not stop.wait(interval):
                try:
                    self._renew(None)
                except Exception:  # a database hiccup: the next renewal or progress report retries
                    log.exception("lease renewal of job %s failed", self.job_id)

        keeper = threading.Thread(target=keep, name=f"lease-{self.job_id}", daemon=True)
        keeper.start()
        try:
            yield
        finally:
            stop.set()
            keeper.join()

    def _beat(self, force: bool) -> None:
        now = time.monotonic()
        if self._lost:
            raise LeaseLost(f"job {self.job_id} attempt {self.attempt} lost its lease")
        if not force and now - self._last_beat < self.min_interval_s:
            return
        self._last_beat = now
        self._renew(self._progress or None)
        if self._lost:
            raise LeaseLost(f"job {self.job_id} attempt {self.attempt} lost its lease")

    def _renew(self, progress: dict[str, Any] | None) -> None:
        with session_scope() as session:
            cancel = job_rows.heartbeat(session, self.job_id, self.attempt, get_settings().job_lease_seconds, progress)
        if cancel is None:
            self._lost = True
        else:
            self._cancel = cancel
