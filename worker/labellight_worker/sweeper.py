"""A background thread in the worker's main process: re-sends lost and orphaned jobs and records
whether this worker still runs the jobs it accepts (see labellight.jobs.sweeper), and removes expired
upload sessions."""

import logging
import threading

from labellight.jobs.sweeper import QueueWatch
from labellight.services import worker_health
from labellight.services.upload_sessions import remove_expired_uploads

log = logging.getLogger(__name__)


class Sweeper:
    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, queues: list[str], concurrency: int) -> None:
        watch = QueueWatch(frozenset(queues), concurrency)
        self._thread = threading.Thread(target=self._loop, args=(watch,), name="labellight-sweeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self, watch: QueueWatch) -> None:
        while not self._stop.is_set():
            try:
                report = watch.sweep()
                if report.stalled:
                    log.error("jobs %s waited past the stall limit with a pool process free: this worker "
                              "accepts jobs but runs none", sorted(report.stalled))
                worker_health.record(report, sorted(watch.queues), watch.concurrency)
                expired = remove_expired_uploads()
                if expired:
                    log.info("sweeper removed %d expired upload session(s)", expired)
            except Exception:  # a database hiccup must not kill the sweeper
                log.exception("job sweep failed")
            self._stop.wait(self.interval_s)
        worker_health.forget()  # after the last round, so that no report outlives a clean stop
