"""What a running job's code sees: its params, a progress reporter that heartbeats, a cancel check."""

import time
from dataclasses import dataclass, field
from typing import Any

from labellight.config import get_settings
from labellight.db import jobs as job_rows
from labellight.db.session import session_scope


class JobCancelled(Exception):
    """Raised inside a job when the user asked to cancel it."""


class LeaseLost(Exception):
    """This attempt no longer holds the job (it was presumed dead and handed on): stop without a trace."""


class JobFailed(Exception):
    """A failure with a message meant for the user (bad input, nothing to do...)."""


@dataclass
class JobContext:
    job_id: int
    project_id: int
    params: dict[str, Any]
    attempt: int
    min_interval_s: float = 1.0
    _last_beat: float = field(default=0.0, init=False)
    _cancel: bool = field(default=False, init=False)
    _progress: dict[str, Any] = field(default_factory=dict, init=False)

    def report(self, stage: str, fraction: float, *, force: bool = False, **metrics: Any) -> None:
        """Store progress (at most once per ``min_interval_s`` unless forced); raise if cancelled."""
        self._progress = {"stage": stage, "fraction": round(min(max(fraction, 0.0), 1.0), 4), **metrics}
        self._beat(force)
        if self._cancel:
            raise JobCancelled()

    def should_stop(self) -> bool:
        """A cheap cancel check for tight loops: it reads the database at most once per interval."""
        self._beat(False)
        return self._cancel

    @property
    def progress(self) -> dict[str, Any]:
        return dict(self._progress)

    def _beat(self, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._last_beat < self.min_interval_s:
            return
        self._last_beat = now
        with session_scope() as session:
            cancel = job_rows.heartbeat(
                session, self.job_id, self.attempt, get_settings().job_lease_seconds, self._progress or None
            )
        if cancel is None:
            raise LeaseLost(f"job {self.job_id} attempt {self.attempt} lost its lease")
        self._cancel = cancel
