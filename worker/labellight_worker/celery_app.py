"""The Celery worker app: LabelLight's shared configuration, one thin task per job kind, a sweeper."""

import logging

from celery import Celery
from celery.signals import worker_ready, worker_shutting_down

from labellight.config import get_settings
from labellight.jobs.transport import make_celery
from labellight_worker.sweeper import Sweeper

log = logging.getLogger(__name__)

app: Celery = make_celery()
app.conf.include = ["labellight_worker.tasks"]
_sweeper = Sweeper(interval_s=get_settings().sweep_interval_seconds)


@worker_ready.connect
def _start_sweeper(**_: object) -> None:
    _sweeper.start()


@worker_shutting_down.connect
def _stop_sweeper(**_: object) -> None:
    _sweeper.stop()


__all__ = ["app"]
