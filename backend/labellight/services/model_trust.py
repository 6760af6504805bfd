"""Whether the project's model can be trusted: its classifier against guessing, its features' pretraining.

The verdict (:func:`labellight.ml.baselines.judge`) holds back the review aids, words the fine-tune's
outcome and is shown with the model, so that a useless model never looks like a good one.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labellight.db import projects as project_rows
from labellight.db.models import Backbone, Classifier, Job
from labellight.jobs.routes import JobKind, JobState
from labellight.ml.baselines import Baselines, baselines, judge
from labellight.ml.baselines import Trust as Trust  # re-exported: the API presents it

# The one wording of "there is no classifier": the trust verdict, the predictions, the batch predictions and the export.
NO_CLASSIFIER = "the project has no classifier yet: label images of at least two classes and train one"


def classifier_trust(classifier: Classifier | None) -> Trust:
    """The verdict on a classifier's cross-validated accuracy (not trustworthy when there is none)."""
    if classifier is None:
        return Trust(False, NO_CLASSIFIER)
    support = (classifier.metrics or {}).get("support")
    return judge(classifier.cv_accuracy, support, classifier.n_folds)


def current_trust(session: Session, project_id: int) -> Trust:
    return classifier_trust(project_rows.current_classifier(session, project_id))


def classifier_baselines(classifier: Classifier) -> Baselines | None:
    """Chance and the majority share of the labels its report scored (None without a report)."""
    support = (classifier.metrics or {}).get("support")
    try:
        return baselines(support) if support else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Pretraining:
    """How the backbone under the current features was pretrained, from its pretrain job's result.

    ``kept``: ``"pretrained"`` (the trained network shipped), ``"initial"`` (the label-free quality check
    found the starting network better and shipped that) or None (no such job on record). ``start``:
    ``"random"``, ``"weights file"`` or ``"state dict"`` (continued from the previous backbone)."""

    backbone_version: int
    job_id: int | None
    kept: str | None
    start: str | None
    reason: str | None
    finetuned_from: int | None


def _pretrained_base(session: Session, backbone: Backbone) -> Backbone:
    """The pretrained backbone a fine-tuned one descends from (itself when not fine-tuned)."""
    seen = {backbone.version}
    while (parent := backbone.config.get("finetuned_from")) is not None and int(parent) not in seen:
        found = session.scalar(select(Backbone).where(Backbone.project_id == backbone.project_id,
                                                      Backbone.version == int(parent)))
        if found is None:
            break
        seen.add(found.version)
        backbone = found
    return backbone


def pretraining(session: Session, backbone: Backbone) -> Pretraining:
    base = _pretrained_base(session, backbone)
    jobs = session.scalars(select(Job).where(
        Job.project_id == backbone.project_id, Job.kind == JobKind.PRETRAIN.value,
        Job.state == JobState.SUCCEEDED.value).order_by(Job.id.desc()))
    result: dict[str, Any] = {}
    job_id = None
    for job in jobs:
        if (job.result or {}).get("backbone_version") == base.version:
            result, job_id = job.result or {}, job.id
            break
    finetuned_from = base.version if base.version != backbone.version else None
    return Pretraining(backbone.version, job_id, result.get("kept"), result.get("start"), result.get("reason"),
                       finetuned_from)
