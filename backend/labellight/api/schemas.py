"""Response and request bodies of the REST API (names: XCreate for input, XPublic for output)."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from labellight.api.ids import BodyId


class Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Credentials(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class SignUp(Credentials):
    invite: str | None = Field(default=None, max_length=200, description="the code from the server's operator, "
                               "when sign-up is by invitation")


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024, description="the same policy as at sign-up")


class AuthOptionsPublic(BaseModel):
    signup: Literal["open", "invite", "closed"]


class UserPublic(Public):
    id: int
    email: str
    created_at: datetime


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    expires_in_days: float | None = Field(default=None, gt=0, le=3650, description="the token stops working "
                                          "this many days (fractions allowed) after it is made; null: never")


class TokenPublic(Public):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class TokenCreated(TokenPublic):
    token: str


class ClassCreate(BaseModel):
    name: str = Field(max_length=1000, pattern=r"\S", description="not blank; spaces are collapsed")


class ClassPublic(BaseModel):
    id: int
    name: str
    color: str
    hotkey: str | None


class ProjectCreate(BaseModel):
    name: str = Field(max_length=1000, pattern=r"\S", description="not blank; spaces are collapsed")


class ProjectPublic(BaseModel):
    id: int
    name: str
    created_at: datetime
    image_count: int
    labeled_count: int
    classes: list[ClassPublic]
    backbone_version: int | None
    classifier_version: int | None
    cv_accuracy: float | None
    last_activity_at: datetime
    """The newest of: the project's creation, an image upload, a label, a job created or finished."""


class ImagePublic(BaseModel):
    id: int
    filename: str
    width: int
    height: int
    class_id: int | None
    thumbnail_url: str
    file_url: str


class ImageList(BaseModel):
    items: list[ImagePublic]
    total: int


class LabelUpdate(BaseModel):
    image_ids: list[BodyId] = Field(min_length=1, max_length=10_000)
    class_id: BodyId | None


class LabelResult(BaseModel):
    updated: int


class PretrainRequest(BaseModel):
    epochs: int | None = Field(default=None, ge=1, le=1000)
    batch_size: int | None = Field(default=None, ge=2, le=4096)
    image_size: int | None = Field(default=None, ge=16, le=512)
    time_budget_s: float | None = Field(default=None, ge=10, le=7 * 86400, description="plan epochs to fit")
    start: Literal["auto", "scratch", "previous", "weights"] = "auto"


class FinetuneRequest(BaseModel):
    epochs: int | None = Field(default=None, ge=1, le=200, description="passes over the labeled images (default 20)")


class SuggestionReason(BaseModel):
    """Why an image was suggested: the strategy that picked it and that strategy's scores."""

    model_config = ConfigDict(extra="allow")
    strategy: str


class SuggestionPublic(BaseModel):
    image: ImagePublic
    reason: SuggestionReason


class SuggestionsPublic(BaseModel):
    strategy: str
    items: list[SuggestionPublic]


class NeighbourPublic(BaseModel):
    image: ImagePublic
    score: float


class SearchResultPublic(BaseModel):
    backbone_version: int
    items: list[NeighbourPublic]


class ClassificationReportPublic(BaseModel):
    """Out-of-fold report; per-class lists in ``classes`` (class id) order; ``confusion[i][j]``: images of
    ``classes[i]`` predicted ``classes[j]``."""

    accuracy: float
    classes: list[int]
    precision: list[float]
    recall: list[float]
    support: list[int]
    confusion: list[list[int]]


class ClassifierPublic(BaseModel):
    version: int
    cv_accuracy: float | None
    n_labels: int
    n_folds: int
    classes: list[ClassPublic]
    metrics: ClassificationReportPublic | None
    """Null for classifiers trained before reports existed."""
    cv_scope: str | None = Field(default=None, description=(
        "which labels cv_accuracy and metrics score when not all of them out-of-fold: after a kept fine-tune, "
        "the labels the backbone was not trained on (null: every label, out-of-fold)"))
    created_at: datetime


class LearningCurvePoint(BaseModel):
    version: int
    n_labels: int
    cv_accuracy: float | None
    chance: float | None = Field(description="1 / the number of classes among the scored labels")
    majority_baseline: float | None = Field(description="share of the most common class among the scored labels")


class TrustPublic(BaseModel):
    """Whether the current classifier beats guessing: its cross-validated accuracy reliably above the
    majority-class baseline (a one-sided binomial test at 5% on the scored labels)."""

    trustworthy: bool
    reason: str = Field(description="the verdict in plain words")
    chance: float | None
    majority_baseline: float | None
    n_scored: int | None = Field(description="labels the accuracy scores")
    p_value: float | None = Field(description="P(at least this many right | always the most common class)")
    folds_warning: str | None = Field(description="set when the folds are too few for a steady estimate")


class PretrainingPublic(BaseModel):
    """How the current backbone's features were pretrained (from its pretrain job's result)."""

    backbone_version: int
    job_id: int | None
    kept: str | None = Field(description=(
        "pretrained: the trained network shipped; initial: the guard (the linear head's cross-validated accuracy "
        "on the labels once there are enough, else a label-free check) kept the starting network; null: no "
        "pretrain job on record"))
    start: str | None = Field(description="random, weights file or state dict (the previous backbone)")
    reason: str | None
    finetuned_from: int | None = Field(description="the pretrained backbone a fine-tuned one descends from")


class ModelInfoPublic(BaseModel):
    backbone_version: int | None = Field(description=(
        "the served backbone: the one the classifier was trained on (map, search, predictions and review use it)"))
    model_version: str | None = Field(description=(
        "the served pair as b<backbone>.c<classifier>, as predictions name it; null before the first classifier"))
    pending_backbone_version: int | None = Field(description=(
        "a newer embedded backbone that is not served yet: it is served once a classifier is trained on it "
        "(queued by itself when labels of two classes exist)"))
    classifier: ClassifierPublic | None
    learning_curve: list[LearningCurvePoint]
    trust: TrustPublic
    pretraining: PretrainingPublic | None


class ClassScorePublic(Public):
    class_id: int
    class_name: str
    probability: float


class EvidencePublic(Public):
    image_id: int
    class_id: int
    score: float


class FilePredictionPublic(Public):
    filename: str
    top_k: list[ClassScorePublic]
    below_threshold: bool
    out_of_distribution: bool
    nearest_distance: float
    evidence: list[EvidencePublic]


class PredictionPublic(BaseModel):
    model_version: str
    backbone_version: int
    classifier_version: int
    ood_threshold: float | None
    predictions: list[FilePredictionPublic]


class StoredPredictionPublic(Public):
    image_id: int
    top_k: list[ClassScorePublic]


class StoredPredictionsPublic(BaseModel):
    model_version: str
    items: list[StoredPredictionPublic]


class MapPointPublic(Public):
    image_id: int
    x: float
    y: float
    class_id: int | None


class MapPublic(Public):
    backbone_version: int
    points: list[MapPointPublic]


class MislabelPublic(BaseModel):
    image: ImagePublic
    suggested_class_id: int
    score: float


class TentativeLabelPublic(BaseModel):
    image: ImagePublic
    class_id: int
    confidence: float


class MislabelsPublic(BaseModel):
    trust: TrustPublic
    held_back: bool = Field(description="true while the classifier is not trustworthy: items is then empty")
    items: list[MislabelPublic]


class PropagatedLabelsPublic(BaseModel):
    trust: TrustPublic
    held_back: bool = Field(description="true while the classifier is not trustworthy: items is then empty")
    items: list[TentativeLabelPublic]


class ClassProbabilityPublic(Public):
    class_id: int
    probability: float


class ReviewItemPublic(BaseModel):
    image: ImagePublic
    class_id: int
    confidence: float
    top: list[ClassProbabilityPublic]


class ReviewPredictionsPublic(BaseModel):
    model_version: str
    trust: TrustPublic
    total: int
    items: list[ReviewItemPublic]


class UploadSessionCreate(BaseModel):
    filename: str = Field(min_length=1, max_length=1024)
    size: int = Field(ge=1, description="the file's size in bytes")

    @field_validator("filename")
    @classmethod
    def _printable_name(cls, name: str) -> str:
        if not name.strip() or not name.isprintable():
            raise ValueError("the file name must be non-blank printable text (no control characters)")
        return name


class UploadSessionPublic(Public):
    id: str
    filename: str
    size: int
    received: int
    chunk_size: int
    expires_at: datetime


class UploadSessionsComplete(BaseModel):
    session_ids: list[str] = Field(min_length=1, max_length=10_000)


class UploadOffsetConflict(BaseModel):
    detail: str
    received: int
