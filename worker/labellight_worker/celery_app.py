"""The Celery worker app: LabelLight's shared configuration, one thin task per job kind, a sweeper."""

import logging
from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_process_init, worker_ready, worker_shutting_down

from labellight.config import get_settings
from labellight.jobs.transport import make_celery
from labellight.services.faiss_setup import configure_faiss_threads
from labellight_worker.sweeper import Sweeper

log = logging.getLogger(__name__)

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


@worker_shutting_down.connect
def _stop_sweeper(**_: object) -> None:
    _sweeper.stop()


__all__ = ["app"]
