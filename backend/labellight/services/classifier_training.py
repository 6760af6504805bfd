"""The train job: a linear head on the current backbone's embeddings of the labeled images."""

from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from labellight.db import projects as project_rows
from labellight.db.models import Classifier, Image, Job, User
from labellight.db.session import session_scope
from labellight.jobs.routes import JobKind
from labellight.ml.classifier import train_linear_head
from labellight.services.errors import Conflict
from labellight.services.job_context import JobContext, JobFailed
from labellight.services.job_queue import submit_job
from labellight.services.model_store import embeddings
from labellight.services.projects import get_project
from labellight.storage import get_storage
from labellight.storage.keys import classifier_key

NEED_TWO_CLASSES = "label images of at least two classes before training"


def start_train(session: Session, user: User, project_id: int) -> Job:
    project = get_project(session, user, project_id)
    if project_rows.current_backbone(session, project.id) is None:
        raise Conflict("pretrain first: the project has no embedded backbone yet")
    return submit_job(session, project.id, JobKind.TRAIN, {})


def run_train(ctx: JobContext) -> dict[str, Any]:
    with session_scope() as session:
        backbone = project_rows.current_backbone(session, ctx.project_id)
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
    with session_scope() as session:
        version = project_rows.next_version(session, Classifier, ctx.project_id)
        training.head.save(get_storage().path(classifier_key(ctx.project_id, version)))
        session.add(Classifier(project_id=ctx.project_id, backbone_id=backbone.id, version=version,
                               cv_accuracy=training.cv_accuracy, n_labels=training.n_labels,
                               n_folds=training.n_folds))
    return {"classifier_version": version, "cv_accuracy": training.cv_accuracy,
            "n_labels": training.n_labels, "n_folds": training.n_folds, "labels_without_embedding": missing}
