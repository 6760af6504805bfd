"""Prometheus metrics of the whole deployment, read from the database at each scrape (the jobs table is
the source of truth, whichever process runs them), and of this process (GPU use when there is one)."""

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from labellight.db.models import Job
from labellight.db.session import session_scope
from labellight.jobs.routes import QUEUES, JobKind, JobState

log = logging.getLogger(__name__)


class JobCollector(Collector):
    """Jobs by kind and state, queue depth and the age of its oldest queued job, and the images per second
    that running jobs report."""

    def describe(self) -> Iterator[Metric]:
        """The families, without samples: registering asks for them, and must not need a database."""
        yield from self._families()

    def _families(self) -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
        jobs = GaugeMetricFamily("labellight_jobs", "Jobs by kind and state", labels=["kind", "state"])
        depth = GaugeMetricFamily("labellight_queue_depth", "Jobs queued and not yet running", labels=["queue"])
        age = GaugeMetricFamily("labellight_queue_oldest_age_seconds", "Age of the oldest queued job (0: none)",
                                labels=["queue"])
        speed = GaugeMetricFamily("labellight_running_images_per_second",
                                  "Images per second that running jobs report, summed by kind", labels=["kind"])
        return jobs, depth, age, speed

    def collect(self) -> Iterator[Metric]:
        jobs, depth, age, speed = self._families()
        now = datetime.now(UTC)
        try:
            with session_scope() as session:
                counts = session.execute(select(Job.kind, Job.state, func.count())
                                         .group_by(Job.kind, Job.state)).all()
                oldest = session.execute(select(Job.kind, func.count(), func.min(Job.created_at))
                                         .where(Job.state == JobState.QUEUED).group_by(Job.kind)).all()
                running = session.execute(select(Job.kind, Job.progress)
                                          .where(Job.state == JobState.RUNNING)).all()
        except SQLAlchemyError:
            log.exception("metrics: the jobs table could not be read; job metrics are left out of this scrape")
            return
        seen = {(kind, state): n for kind, state, n in counts}
        for job_kind in JobKind:
            for job_state in JobState:
                jobs.add_metric([job_kind.value, job_state.value], seen.get((job_kind.value, job_state.value), 0))
        queued: dict[str, int] = dict.fromkeys(QUEUES.values(), 0)
        ages: dict[str, float] = dict.fromkeys(QUEUES.values(), 0.0)
        for kind, n, created in oldest:
            queue = QUEUES.get(JobKind(kind)) if kind in set(JobKind) else None
            if queue is None or created is None:
                continue
            created = created if created.tzinfo else created.replace(tzinfo=UTC)
            queued[queue] += n
            ages[queue] = max(ages[queue], (now - created).total_seconds())
        for queue in sorted(queued):
            depth.add_metric([queue], queued[queue])
            age.add_metric([queue], ages[queue])
        rates: dict[str, float] = dict.fromkeys((k.value for k in JobKind), 0.0)
        for kind, progress in running:
            value = (progress or {}).get("images_per_s")
            if isinstance(value, int | float) and kind in rates:
                rates[kind] += float(value)
        for kind, rate in rates.items():
            speed.add_metric([kind], rate)
        yield from (jobs, depth, age, speed)


class GpuCollector(Collector):
    """Memory and utilisation of each GPU this process sees; nothing on a machine without one."""

    def describe(self) -> Iterator[Metric]:
        return iter(())  # whether there are GPUs is known only when collecting

    def collect(self) -> Iterator[Metric]:
        import torch

        if not torch.cuda.is_available():
            return
        used = GaugeMetricFamily("labellight_gpu_memory_used_bytes", "GPU memory in use (all processes)",
                                 labels=["gpu"])
        total = GaugeMetricFamily("labellight_gpu_memory_total_bytes", "GPU memory", labels=["gpu"])
        busy = GaugeMetricFamily("labellight_gpu_utilization_ratio", "Share of time the GPU was busy (NVML)",
                                 labels=["gpu"])
        for index in range(torch.cuda.device_count()):
            free, size = torch.cuda.mem_get_info(index)
            used.add_metric([str(index)], size - free)
            total.add_metric([str(index)], size)
            try:
                busy.add_metric([str(index)], torch.cuda.utilization(index) / 100.0)
            except Exception:  # NVML (pynvml) missing: memory only  # noqa: S112
                continue
        yield from (used, total, busy)
