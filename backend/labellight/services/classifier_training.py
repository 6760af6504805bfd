"""The train job: a linear head on the current backbone's embeddings of the labeled images.

Its accuracy is cross-validated: out-of-fold predictions, so no label scores a head that saw it. A
backbone fine-tuned on labels (``config["finetune"]["image_ids"]``) has seen those, so their
out-of-fold predictions would still be optimistic: on such a backbone only the labels added since
the fine-tune are scored, once there are ``MIN_FRESH_LABELS`` of them; until then the classifier
carries the fine-tune's own cross-validated accuracy and report. ``cv_scope`` says which.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labellight.config import get_settings
from labellight.db import projects as project_rows
from labellight.db.models import Backbone, Classifier, Image, Job, User
from labellight.db.session import session_scope
from labellight.jobs.context import JobContext, JobFailed
from labellight.jobs.payloads import TrainParams
from labellight.jobs.routes import JobKind, JobState
from labellight.jobs.submit import submit_job
from labellight.ml.classifier import train_linear_head
from labellight.ml.metrics import classification_report
from labellight.services import quotas
from labellight.services.errors import Conflict
from labellight.services.model_store import embeddings
from labellight.services.projects import get_project
from labellight.storage import get_storage
from labellight.storage.keys import classifier_key

NEED_TWO_CLASSES = "label images of at least two classes before training"
MIN_FRESH_LABELS = 10


def start_train(session: Session, user: User, project_id: int) -> Job:
    project = get_project(session, user, project_id)
    if project_rows.current_backbone(session, project.id) is None:
        raise Conflict("pretrain first: the project has no embedded backbone yet")
    # A queued training will read the labels as they are when it starts: a second one adds nothing.
    queued = session.scalar(select(Job).where(
        Job.project_id == project.id, Job.kind == JobKind.TRAIN.value, Job.state == JobState.QUEUED.value
    ).order_by(Job.id.desc()).limit(1))
    if queued is not None:
        return queued
    quotas.check_active_jobs(session, user)
    return submit_job(session, project.id, JobKind.TRAIN, {})


def retrain_if_due(session: Session, project_id: int) -> Job | None:
    """After new labels: queue a retrain once ``auto_train_every`` labels arrived since the last
    classifier, unless one is already queued or running (debounce)."""
    every = get_settings().auto_train_every
    if every == 0 or project_rows.current_backbone(session, project_id) is None:
        return None
    busy = session.scalar(select(Job.id).where(
        Job.project_id == project_id, Job.kind == JobKind.TRAIN.value,
        Job.state.in_([JobState.QUEUED.value, JobState.RUNNING.value])).limit(1))
    if busy is not None:
        return None
    latest = project_rows.current_classifier(session, project_id)
    new_labels = select(func.count(Image.id)).where(Image.project_id == project_id, Image.class_id.is_not(None))
    if latest is not None:
        new_labels = new_labels.where(Image.labeled_at > latest.created_at)
    classes = session.scalar(select(func.count(func.distinct(Image.class_id))).where(
        Image.project_id == project_id, Image.class_id.is_not(None))) or 0
    if int(session.scalar(new_labels) or 0) < every or classes < 2:
        return None
    return submit_job(session, project_id, JobKind.TRAIN, {"automatic": True})


def learning_curve(session: Session, project_id: int) -> list[Classifier]:
    return list(session.scalars(select(Classifier).where(Classifier.project_id == project_id)
                                .order_by(Classifier.version)))


def train_new_backbone(session: Session, backbone: Backbone) -> Job | None:
    """A newly embedded backbone is served only with a classifier trained on it: queue that training when the
    backbone has none and labels of two classes exist (a queued training will build on it anyway). Until it
    succeeds the project keeps serving its previous backbone and classifier together."""
    has_head = session.scalar(select(Classifier.id).where(Classifier.backbone_id == backbone.id).limit(1))
    classes = session.scalar(select(func.count(func.distinct(Image.class_id))).where(
        Image.project_id == backbone.project_id, Image.class_id.is_not(None))) or 0
    if has_head is not None or classes < 2:
        return None
    queued = session.scalar(select(Job.id).where(
        Job.project_id == backbone.project_id, Job.kind == JobKind.TRAIN.value,
        Job.state == JobState.QUEUED.value).limit(1))
    if queued is not None:
        return None
    return submit_job(session, backbone.project_id, JobKind.TRAIN,
                      {"automatic": True, "new_backbone_version": backbone.version})


def run_train(ctx: JobContext[TrainParams]) -> dict[str, Any]:
    with session_scope() as session:
        # The newest embedded backbone, served or not yet: its first classifier makes it the served one.
        backbone = project_rows.newest_backbone(session, ctx.project_id)
        if backbone is None:
            raise JobFailed("pretrain first: the project has no embedded backbone yet")
        labeled = session.execute(
            select(Image.id, Image.class_id).where(Image.project_id == ctx.project_id, Image.class_id.is_not(None))
        ).all()
    ctx.report("train", 0.1, force=True)
    emb = embeddings(backbone)
    ids = np.array([r.id for r in labeled], dtype=np.int64)
    y = np.array([r.class_id for r in labeled], dtype=np.int64)
    rows = emb.rows_of(ids)
    missing = int((rows < 0).sum())
    x, y = emb.vectors[rows[rows >= 0]], y[rows >= 0]
    if len(np.unique(y)) < 2:
        raise JobFailed(NEED_TWO_CLASSES)
    try:
        training = train_linear_head(x, y)
    except ValueError as exc:
        raise JobFailed(str(exc)) from exc
    ctx.report("metrics", 0.6, force=True)
    score = Score(training.cv_accuracy, None, None)
    if training.out_of_fold is not None:
        classes = training.head.classes
        seen = np.isin(ids[rows >= 0], _finetuned_on(backbone))
        score = _scored(backbone, y, classes[training.out_of_fold.argmax(axis=1)], classes, seen,
                        training.cv_accuracy)

    def store() -> int:
        with session_scope() as session:
            version = project_rows.claim_next_version(session, Classifier(
                project_id=ctx.project_id, backbone_id=backbone.id, cv_accuracy=score.cv_accuracy,
                n_labels=training.n_labels, n_folds=training.n_folds, metrics=score.metrics,
                cv_scope=score.scope))
            training.head.save(get_storage().path(classifier_key(ctx.project_id, version)))
            return version

    version = project_rows.retry_on_clash(store)
    return {"classifier_version": version, "backbone_version": backbone.version,
            "cv_accuracy": score.cv_accuracy, "cv_scope": score.scope,
            "n_labels": training.n_labels, "n_folds": training.n_folds, "labels_without_embedding": missing,
            "automatic": ctx.params.automatic}


@dataclass(frozen=True)
class Score:
    """A classifier's cross-validated accuracy, its report and which labels they score (None: all)."""

    cv_accuracy: float | None
    metrics: dict[str, Any] | None
    scope: str | None


def _finetuned_on(backbone: Backbone) -> np.ndarray:
    """Ids of the labeled images a fine-tuned backbone was trained on (empty for a pretrained one)."""
    finetune = backbone.config.get("finetune") or {}
    return np.asarray(finetune.get("image_ids", []), dtype=np.int64)


def _scored(backbone: Backbone, y: np.ndarray, predicted: np.ndarray, classes: np.ndarray, seen: np.ndarray,
            cv_accuracy: float | None) -> Score:
    """The score of out-of-fold ``predicted`` labels, leaving out the ``seen`` ones (the backbone's
    fine-tune trained on them): on the fresh labels once there are enough, else the fine-tune's."""
    if not seen.any():
        return Score(cv_accuracy, classification_report(y, predicted, classes).as_dict(), None)
    fresh = ~seen
    n_fresh, n_seen = int(fresh.sum()), int(seen.sum())
    if n_fresh >= MIN_FRESH_LABELS:
        report = classification_report(y[fresh], predicted[fresh], classes)
        scope = f"the {n_fresh} labels added since backbone {backbone.version} was fine-tuned on the other {n_seen}"
        return Score(report.accuracy, report.as_dict(), scope)
    scope = (f"the fine-tune's cross-validation: backbone {backbone.version} was fine-tuned on {n_seen} of these "
             f"labels; {MIN_FRESH_LABELS} labels added since give a fresh estimate ({n_fresh} so far)")
    with session_scope() as session:
        # The backbone's first head is the fine-tune's own, scored out-of-fold by the fine-tune job.
        first = session.scalar(select(Classifier).where(Classifier.backbone_id == backbone.id)
                               .order_by(Classifier.version).limit(1))
        if first is None:
            return Score(None, None, scope)
        return Score(first.cv_accuracy, first.metrics, scope)
