"""What each job kind takes (its params) and gives back (its result), as pydantic models.

Params are checked when a job is submitted and again when it runs; results are checked when the job ends.
Rows written before a key existed still load: every key added after a kind was first shipped has a default.
Results allow keys this module does not name yet (they are kept as they are), so a handler that reports more
never loses it; name them here to type them.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from labellight.jobs.routes import JobKind
from labellight.ml.export import ExportFormat


class JobParams(BaseModel):
    """Params of a job: unknown keys (from a row of an older version) are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class JobResult(BaseModel):
    """Result of a job: unknown keys are kept as they are."""

    model_config = ConfigDict(extra="allow")


class InvalidParams(ValueError):
    """A job's params do not fit its kind; the message names each bad field and what is wrong with it, and
    ``errors`` lists them in the form of a request validation error (``loc`` starts with ``params``)."""

    def __init__(self, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.errors = errors


# ---------------------------------------------------------------------------------------------- params


class StagedFile(BaseModel):
    name: str
    """The file's name as the user sent it (made safe for display)."""
    key: str
    """Where the upload waits in storage until the ingest reads it."""
    path: str | None = None
    """Its relative path in a picked folder ("cats/a.png"), from which the ingest reads class folders."""


class IngestParams(JobParams):
    files: list[StagedFile] = []


PretrainStart = Literal["auto", "scratch", "previous", "weights"]


class PretrainParams(JobParams):
    epochs: int | None = Field(default=None, ge=1)
    batch_size: int | None = Field(default=None, ge=2)
    image_size: int | None = Field(default=None, ge=16)
    time_budget_s: float | None = Field(default=None, gt=0)
    start: PretrainStart = "auto"


class EmbedParams(JobParams):
    backbone_id: int = Field(ge=1)
    head_by_caller: bool = False
    """A fine-tune trains the new backbone's head itself: no automatic train job after the embedding."""


class TrainParams(JobParams):
    automatic: bool = False
    """Queued by the retrain rule after new labels, not by a user."""
    new_backbone_version: int | None = None
    """Queued because this newly embedded backbone has no classifier yet (it is served only with one)."""


class PredictParams(JobParams):
    top_k: int = Field(default=3, ge=1)


class ExportParams(JobParams):
    format: ExportFormat
    classifier_id: int = Field(ge=1)


class FinetuneParams(JobParams):
    epochs: int | None = Field(default=None, ge=1)
    """None: the service's default."""


# --------------------------------------------------------------------------------------------- results


class FileReportEntry(BaseModel):
    name: str
    status: Literal["accepted", "duplicate", "rejected"]
    reason: str | None = None
    image_id: int | None = None
    label: str | None = Field(default=None, description="the class its folder gave it")
    label_note: str | None = Field(default=None, description="why its folder's class was not applied")


class IngestResult(JobResult):
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    classes_created: list[str] = []
    """Classes made from the class folders of the import."""
    labeled: int = 0
    """Images labeled from their class folders."""
    class_folders_hint: str | None = None
    """Why folders that were there were not read as classes."""
    files: list[FileReportEntry] = []
    """The per-file report, in upload order (at most ``MAX_REPORTED_FILES`` entries)."""


class PretrainResult(JobResult):
    backbone_version: int
    epochs: int
    final_loss: float | None = None
    device: str | None = None
    processes: int | None = None
    images: int | None = None
    resumed_from_epoch: int | None = None
    resumed_from_step: int | None = None
    start: str | None = None
    """Where the weights started: ``random``, ``weights file`` or ``state dict``."""
    start_reason: str | None = None
    """Why the run started there, and the preset it used, in words."""
    kept: str | None = None
    """``pretrained``, or ``initial`` when the guard found the starting weights better."""
    reason: str | None = None
    shipped: bool | None = None
    """Whether a new backbone version shipped (False: the guard kept the current backbone as it was)."""
    guard: str | None = None
    """What the guard decided on: ``labels`` (cross-validated accuracy on the user's labels) or
    ``view-consistency`` (label-free)."""
    epochs_run: float | None = None
    """Epochs trained (a time budget may end a run mid-epoch)."""
    steps: int | None = None
    stop_reason: str | None = None
    """Why training ended, in words (budget spent, planned epochs done)."""
    budget_s: float | None = None
    elapsed_s: float | None = None
    replans: int | None = None
    """How often a budgeted run re-planned its length to end with its budget."""


class EmbedResult(JobResult):
    backbone_version: int
    images: int
    dim: int


class TrainResult(JobResult):
    classifier_version: int
    backbone_version: int | None = None
    """The backbone the classifier was trained on (rows before it was recorded lack it)."""
    automatic: bool = False
    """Started by the retrain rule or a new backbone, not by a user."""
    cv_accuracy: float | None = None
    cv_scope: str | None = None
    n_labels: int
    n_folds: int
    labels_without_embedding: int = 0


class PredictResult(JobResult):
    model_version: str
    images: int
    skipped: int = 0
    formats: list[str] = []


class ExportInput(BaseModel):
    layout: Literal["NCHW"]
    size: tuple[int, int]
    dtype: str
    range: tuple[float, float]


class ExportResult(JobResult):
    """The file holds backbone + head; input images in [0, 1] at ``input.size``."""

    format: ExportFormat
    filename: str
    bytes: int
    model_version: str
    classes: list[str]
    """Class name of each output column, in order."""
    input: ExportInput


class FinetuneResult(JobResult):
    """Which model a fine-tune kept and why; a kept fine-tune names its new versions."""

    kept: Literal["finetuned", "linear head"]
    reason: str
    cv_accuracy_finetuned: float
    cv_accuracy_linear: float
    n_labels: int
    n_folds: int
    epochs: int
    device: str
    backbone_version: int
    new_backbone_version: int | None = None
    classifier_version: int | None = None
    trustworthy: bool | None = None
    """When kept: whether the fine-tuned model beats guessing (see ``chance`` and ``majority_baseline``)."""
    chance: float | None = None
    majority_baseline: float | None = None


PARAMS: dict[JobKind, type[JobParams]] = {
    JobKind.INGEST: IngestParams,
    JobKind.PRETRAIN: PretrainParams,
    JobKind.EMBED: EmbedParams,
    JobKind.TRAIN: TrainParams,
    JobKind.PREDICT: PredictParams,
    JobKind.EXPORT: ExportParams,
    JobKind.FINETUNE: FinetuneParams,
}

RESULTS: dict[JobKind, type[JobResult]] = {
    JobKind.INGEST: IngestResult,
    JobKind.PRETRAIN: PretrainResult,
    JobKind.EMBED: EmbedResult,
    JobKind.TRAIN: TrainResult,
    JobKind.PREDICT: PredictResult,
    JobKind.EXPORT: ExportResult,
    JobKind.FINETUNE: FinetuneResult,
}


def _problem(kind: JobKind, what: str, error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or what
        parts.append(f"{field}: {item['msg']}")
    return f"{kind.value} job {what}: " + "; ".join(parts)


def parse_params(kind: JobKind, params: JobParams | dict[str, Any]) -> JobParams:
    """``params`` as the kind's model; :class:`InvalidParams` (naming each bad field) when they do not fit."""
    model = PARAMS[kind]
    if isinstance(params, model):
        return params
    raw = params.model_dump() if isinstance(params, BaseModel) else params
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        errors = [{"type": e["type"], "loc": ["params", *e["loc"]], "msg": e["msg"]} for e in error.errors()]
        raise InvalidParams(_problem(kind, "params", error), errors) from None


def params_json(params: JobParams) -> dict[str, Any]:
    """The form a row stores: the keys that were given (defaults stay implicit, as rows always had them)."""
    return params.model_dump(mode="json", exclude_unset=True)


def result_json(kind: JobKind, result: JobResult | dict[str, Any]) -> dict[str, Any]:
    """A handler's result checked against its kind, in the form a row stores (the keys the handler set)."""
    model = RESULTS[kind]
    raw = result.model_dump(mode="json", exclude_unset=True) if isinstance(result, BaseModel) else result
    try:
        return model.model_validate(raw).model_dump(mode="json", exclude_unset=True)
    except ValidationError as error:
        raise ValueError(_problem(kind, "result", error)) from None
