"""The worker child of `labellight run`: started in a process group of its own, restarted when it exits
or stops running the jobs it accepts (QUALITY J11), and stopped with its whole group when `run` ends."""

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time

from labellight.services import worker_health

log = logging.getLogger(__name__)

STOP_GRACE_S = 20.0
"""How long a running job may take to wind down on SIGTERM before the group is killed; a job killed
then resumes from its checkpoint when its lease runs out."""


class SupervisedWorker:
    def __init__(self, argv: list[str], env: dict[str, str], check_interval_s: float) -> None:
        self.argv, self.env, self.check_interval_s = argv, env, check_interval_s
        self.restarts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._started_at = 0.0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="labellight-worker-supervisor", daemon=True)

    def start(self) -> None:
        self._spawn()
        self._thread.start()

    def stop(self) -> None:
        """Stop watching, then end the worker's whole group: SIGTERM, and SIGKILL after a grace period
        (a wedged Celery worker ignores SIGTERM). Safe to call more than once."""
        self._stopping.set()
        with self._lock:
            if self._process is not None:
                _end_group(self._process, STOP_GRACE_S)
                worker_health.forget(self._process.pid)
                self._process = None

    def _spawn(self) -> None:
        # A group of its own, so that the worker and its pool processes can be ended together, and a
        # SIGINT at the terminal reaches `run` only (which then stops the worker itself).
        self._process = subprocess.Popen(self.argv, env=self.env, start_new_session=True)
        self._started_at = time.monotonic()

    def _watch(self) -> None:
        while not self._stopping.wait(self.check_interval_s):
            with self._lock:
                if self._stopping.is_set() or self._process is None:
                    return
                problem = self._problem(self._process)
                if problem is None:
                    continue
                log.error("restarting the worker: %s", problem)
                _end_group(self._process, 0.0)
                worker_health.forget(self._process.pid)
                self._spawn()
                self.restarts += 1

    def _problem(self, process: subprocess.Popen[bytes]) -> str | None:
        if process.poll() is not None:
            return f"it exited with status {process.returncode}"
        if time.monotonic() - self._started_at < worker_health.report_age_limit_s():
            return None  # still starting: its first report may not be there yet
        verdict = worker_health.check(process.pid)
        return None if verdict.healthy else verdict.reason


def _end_group(process: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM the process's group (unless ``grace_s`` is 0), then SIGKILL whatever is left of it."""
    if grace_s > 0 and process.poll() is None:
        _signal_group(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace_s)
    # Even when the worker's main process has exited, its pool processes may live on in the group.
    _signal_group(process.pid, signal.SIGKILL)
    process.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)
