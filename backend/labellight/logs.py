"""Log records as JSON lines (``LABELLIGHT_LOG_FORMAT=json``, the default) or plain text, each carrying the
id of the job whose code wrote it (``job_id``, set by the worker around every task) when there is one."""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

CURRENT_JOB: ContextVar[int | None] = ContextVar("labellight_job_id", default=None)
FIELDS = "{asctime}{levelname}{name}{message}{process}"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(job_suffix)s: %(message)s"


class JobIdFilter(logging.Filter):
    """Adds ``job_id`` (None outside a job) to every record; ``job_suffix`` is its text form."""

    def filter(self, record: logging.LogRecord) -> bool:
        job_id = CURRENT_JOB.get()
        record.job_id = job_id
        record.job_suffix = f" [job {job_id}]" if job_id is not None else ""
        return True


class JobJsonFormatter(JsonFormatter):
    """One JSON object per record: timestamp, level, logger, message, process, job_id (and exc_info)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(FIELDS, *args, style="{", rename_fields={"asctime": "time", "levelname": "level",
                                                                  "name": "logger"}, **kwargs)

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data["job_id"] = getattr(record, "job_id", None)
        log_data.pop("job_suffix", None)


def formatter(fmt: str) -> logging.Formatter:
    return JobJsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)


def configure(fmt: str, level: int = logging.INFO) -> None:
    """Send every record of the process to stderr in ``fmt`` ("json" or "text"), with job ids."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(fmt))
    handler.addFilter(JobIdFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)


def uvicorn_config(fmt: str) -> dict[str, Any]:
    """uvicorn's ``log_config``: its loggers and the application's through one handler in ``fmt``."""
    factory = {"()": JobJsonFormatter} if fmt == "json" else {"format": TEXT_FORMAT}
    handler = {"class": "logging.StreamHandler", "formatter": "main", "filters": ["job"], "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"job": {"()": JobIdFilter}},
        "formatters": {"main": factory},
        "handlers": {"main": handler},
        "root": {"handlers": ["main"], "level": "INFO"},
        "loggers": {name: {"handlers": [], "propagate": True, "level": "INFO"}
                    for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
    }
