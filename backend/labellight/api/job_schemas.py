"""Jobs as the API answers them: one schema per kind, told apart by ``kind`` (a discriminated union), so that
each kind's ``result`` has its own type (from :mod:`labellight.jobs.payloads`)."""

from datetime import datetime
from typing import Annotated, Any, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator, with_config
from typing_extensions import TypedDict  # pydantic reads TypedDicts from typing only on Python 3.12+

from labellight.jobs.payloads import (
    EmbedResult,
    ExportResult,
    FileReportEntry,
    FinetuneResult,
    JobResult,
    PredictResult,
    PretrainResult,
    TrainResult,
)
from labellight.jobs.routes import JobState


@with_config(ConfigDict(extra="allow"))
class JobProgress(TypedDict):
    """A job's latest progress report: every kind sends ``stage`` and ``fraction`` (0..1); the other keys
    are sent only by the kinds that measure them (a TypedDict, so an unreported key stays absent)."""

    stage: str
    fraction: float
    epoch: NotRequired[int]
    epochs: NotRequired[int]
    loss: NotRequired[float | None]
    images_per_s: NotRequired[float]
    eta_s: NotRequired[float]
    device: NotRequired[str]
    collapse_std: NotRequired[float | None]
    checkpoint_epoch: NotRequired[int]
    checkpoint_step: NotRequired[int]
    loss_history: NotRequired[list[tuple[int, float]]]
    """Pretraining: (step, loss) pairs, at most 200."""
    total_steps: NotRequired[int]
    """Pretraining: the steps planned (with a time budget: re-planned as the step time changes)."""
    budget_s: NotRequired[float | None]
    budget_used_s: NotRequired[float | None]
    replans: NotRequired[int]
    """Pretraining with a time budget: how often the run re-planned its length to end with the budget."""
    images_done: NotRequired[int]
    images: NotRequired[int]
    files_done: NotRequired[int]
    files: NotRequired[int]
    run: NotRequired[int]
    runs: NotRequired[int]
    """Fine-tune: the run in progress, 1..runs (each fold of the cross-validation, then the final fine-tune)."""


class IngestResultPublic(JobResult):
    """An ingest's counts; its per-file report is left out (``files_reported`` counts it): page through it
    at /jobs/{job_id}/files. (A 10,000-file import reports ~700 KB: too much for every list and event.)"""

    accepted: int
    duplicate: int
    rejected: int
    files_reported: int
    classes_created: list[str] = Field(default_factory=list)
    """Classes made from the class folders of the import."""
    labeled: int = 0
    """Images labeled from their class folders."""
    class_folders_hint: str | None = None
    """Why folders that were there were not read as classes."""

    @model_validator(mode="before")
    @classmethod
    def _count_the_report(cls, data: Any) -> Any:
        """The stored result (counts and ``files``) as sent: counts a row lacks are 0."""
        if not isinstance(data, dict):
            return data
        counts = {"accepted": 0, "duplicate": 0, "rejected": 0, "files_reported": len(data.get("files", []))}
        return {**counts, **{k: v for k, v in data.items() if k != "files"}}


class _JobPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    state: JobState
    progress: JobProgress
    error: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class IngestJobPublic(_JobPublic):
    kind: Literal["ingest"]
    result: IngestResultPublic | None


class PretrainJobPublic(_JobPublic):
    kind: Literal["pretrain"]
    result: PretrainResult | None


class EmbedJobPublic(_JobPublic):
    kind: Literal["embed"]
    result: EmbedResult | None


class TrainJobPublic(_JobPublic):
    kind: Literal["train"]
    result: TrainResult | None


class PredictJobPublic(_JobPublic):
    kind: Literal["predict"]
    result: PredictResult | None


class ExportJobPublic(_JobPublic):
    kind: Literal["export"]
    result: ExportResult | None


class FinetuneJobPublic(_JobPublic):
    kind: Literal["finetune"]
    result: FinetuneResult | None


AnyJobPublic = Annotated[
    IngestJobPublic | PretrainJobPublic | EmbedJobPublic | TrainJobPublic | PredictJobPublic | ExportJobPublic
    | FinetuneJobPublic,
    Field(discriminator="kind"),
]


class JobPublic(RootModel[AnyJobPublic]):
    """A job; ``kind`` says which result it carries. A result holds the keys its job reported (a row
    written before a key existed lacks it)."""

    model_config = ConfigDict(from_attributes=True)


class FileReportEntryPublic(FileReportEntry):
    pass


class FileReportPublic(BaseModel):
    """One page of an ingest's per-file report, in upload order."""

    items: list[FileReportEntryPublic]
    total: int
