"""A background thread in the worker's main process that re-sends lost and orphaned jobs."""

import logging
import threading

from labellight.services.jobs import sweep

log = logging.getLogger(__name__)


class Sweeper:
    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="labellight-sweeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        resend_queued = True  # at start: messages of jobs that were running at a crash may be gone
        while not self._stop.is_set():
            try:
                sweep(resend_queued=resend_queued)
            except Exception:  # a database hiccup must not kill the sweeper
                log.exception("job sweep failed")
            resend_queued = False
            self._stop.wait(self.interval_s)
