"""Is this server ready to do its work: the database, the broker, the storage and a live worker, each
checked cheaply. The answer names only which parts fail; what went wrong is logged, never sent."""

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text

from labellight.db.session import get_engine
from labellight.jobs.transport import get_producer
from labellight.services import worker_health
from labellight.storage import get_storage

log = logging.getLogger(__name__)

BROKER_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, bool]

    @property
    def ready(self) -> bool:
        return all(self.checks.values())


def _database() -> None:
    with get_engine().connect() as connection:
        connection.execute(text("SELECT 1"))


def _broker() -> None:
    with get_producer().connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_S)


def _storage() -> None:
    root = get_storage().root
    root.mkdir(parents=True, exist_ok=True)  # a new install has stored nothing yet
    if not os.access(root, os.W_OK):
        raise OSError(f"the storage folder {root} is not writable")
    if os.statvfs(root).f_bavail == 0:
        raise OSError(f"the storage folder {root} is full")


def _worker() -> None:
    verdict = worker_health.any_healthy()
    if not verdict.healthy:
        raise RuntimeError(verdict.reason)


CHECKS: dict[str, Callable[[], None]] = {"database": _database, "broker": _broker, "storage": _storage,
                                         "worker": _worker}


def readiness() -> Readiness:
    results: dict[str, bool] = {}
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            check()
            results[name] = True
        except Exception as exc:  # every failure means "not ready"; the reason stays in the log
            log.warning("readiness: %s is not ready (%.1f s): %s", name, time.monotonic() - started, exc)
            results[name] = False
    return Readiness(results)
