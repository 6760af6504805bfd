"""The Celery worker app: LabelLight's shared configuration, one thin task per job kind, a sweeper."""

import logging
from typing import Any

from celery import Celery
from celery.signals import (
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_init,
    worker_ready,
    worker_shutting_down,
)

from labellight import logs
from labellight.config import get_settings
from labellight.jobs.transport import make_celery
from labellight.services.faiss_setup import configure_faiss_threads
from labellight_worker.sweeper import Sweeper

log = logging.getLogger(__name__)
# Before Celery sets up logging: it leaves a configured root logger alone (worker_hijack_root_logger=False).
logs.configure(get_settings().log_format)

app: Celery = make_celery()
app.conf.include = ["labellight_worker.tasks"]
_sweeper = Sweeper(interval_s=get_settings().sweep_interval_seconds)


@worker_init.connect
@worker_process_init.connect
def _set_faiss_threads(**_: object) -> None:
    """The worker and each job process: FAISS's OpenMP thread count from the settings (see
    labellight.index.faiss_threads)."""
    log.info("FAISS uses %d OpenMP thread(s) per job process", configure_faiss_threads())


@worker_ready.connect
def _start_sweeper(sender: Any, **_: object) -> None:
    """``sender`` is the worker's consumer: the queues it consumes and its pool size scope the sweep."""
    queues = sorted({q.name for q in sender.task_consumer.queues})
    _sweeper.start(queues, int(sender.controller.concurrency))


@task_prerun.connect
def _log_job_id(task: Any = None, args: tuple[object, ...] | None = None, **_: object) -> None:
    """Records logged while a task runs carry its job id (every task's one argument)."""
    job_id = args[0] if args else None
    logs.CURRENT_JOB.set(job_id if isinstance(job_id, int) else None)
    log.info("job started: %s", getattr(task, "name", "?"))


@task_postrun.connect
def _forget_job_id(task: Any = None, retval: object = None, **_: object) -> None:
    log.info("job ended: %s returned %s", getattr(task, "name", "?"), retval)
    logs.CURRENT_JOB.set(None)


@worker_shutting_down.connect
def _stop_sweeper(**_: object) -> None:
    _sweeper.stop()


__all__ = ["app"]
