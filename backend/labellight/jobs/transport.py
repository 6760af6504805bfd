"""The Celery app both sides build from settings, and sending a job by id."""

import logging
from functools import lru_cache

from celery import Celery

from labellight.config import Settings, get_settings
from labellight.jobs import file_broker
from labellight.jobs.routes import QUEUE_CPU, QUEUES, TASK_NAMES, TASK_ROUTES, JobKind

log = logging.getLogger(__name__)


def _filesystem_transport_options(settings: Settings) -> dict[str, object]:
    root = settings.broker_dir
    queue, processed, control = root / "queue", root / "processed", root / "control"
    for folder in (queue, processed, control):
        folder.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "processed_folder": str(processed),
        "control_folder": str(control),
        "store_processed": False,
        "polling_interval": 0.1,
    }


def make_celery(settings: Settings | None = None) -> Celery:
    """A Celery app configured for LabelLight: JSON only, late acks, prefetch 1, our routes."""
    settings = settings or get_settings()
    broker_url = settings.resolved_broker_url
    transport_options: dict[str, object] = {}
    if broker_url.startswith("filesystem://"):
        file_broker.register()
        broker_url = broker_url.replace("filesystem://", f"{file_broker.SCHEME}://", 1)
        transport_options = _filesystem_transport_options(settings)
    app = Celery("labellight", broker=broker_url)
    app.conf.update(
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=False,
        worker_prefetch_multiplier=1,
        task_routes=TASK_ROUTES,
        task_default_queue=QUEUE_CPU,
        task_ignore_result=True,
        worker_hijack_root_logger=False,
    )
    return app


@lru_cache
def get_producer() -> Celery:
    return make_celery()


def send_job(kind: JobKind, job_id: int) -> bool:
    """Send a job's id to its queue. False when the broker is unreachable: the job stays queued in the
    database and the worker's sweeper sends it again."""
    try:
        get_producer().send_task(
            TASK_NAMES[kind], args=[job_id], queue=QUEUES[kind], retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
        )
    except Exception:  # the broker's errors vary by transport (kombu, redis, OS errors)
        log.exception("could not send job %s to the broker; it stays queued", job_id)
        return False
    return True
