"""Job kinds, queue names, task names and the one route table that the API and the worker share."""

from enum import StrEnum


class JobKind(StrEnum):
    INGEST = "ingest"
    PRETRAIN = "pretrain"
    EMBED = "embed"
    TRAIN = "train"
    PREDICT = "predict"
    EXPORT = "export"
    FINETUNE = "finetune"


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})

QUEUE_CPU = "cpu"
QUEUE_GPU = "gpu"

TASK_NAMES: dict[JobKind, str] = {kind: f"labellight.{kind.value}" for kind in JobKind}

QUEUES: dict[JobKind, str] = {
    JobKind.INGEST: QUEUE_CPU,
    JobKind.PRETRAIN: QUEUE_GPU,
    JobKind.EMBED: QUEUE_GPU,
    JobKind.TRAIN: QUEUE_CPU,
    JobKind.PREDICT: QUEUE_GPU,
    JobKind.EXPORT: QUEUE_CPU,
    JobKind.FINETUNE: QUEUE_GPU,
}

TASK_ROUTES: dict[str, dict[str, str]] = {
    TASK_NAMES[kind]: {"queue": queue} for kind, queue in QUEUES.items()
}
