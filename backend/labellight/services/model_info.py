"""The project's current backbone and classifier, with how far they can be trusted."""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from labellight.db import projects as project_rows
from labellight.db.models import Backbone, Classifier, Project, User
from labellight.ml.baselines import Trust
from labellight.services.classifier_training import learning_curve
from labellight.services.model_trust import Pretraining, classifier_trust, pretraining
from labellight.services.projects import get_project


@dataclass(frozen=True)
class ModelInfo:
    project: Project
    backbone: Backbone | None
    classifier: Classifier | None
    history: list[Classifier]
    trust: Trust
    pretraining: Pretraining | None
    pending_backbone: Backbone | None
    """A newer embedded backbone not served yet: it waits for a classifier trained on it."""

    @property
    def model_version(self) -> str | None:
        """The served pair, as predictions, search and review name it (None before the first classifier)."""
        if self.backbone is None or self.classifier is None:
            return None
        return f"b{self.backbone.version}.c{self.classifier.version}"


def model_info(session: Session, user: User, project_id: int) -> ModelInfo:
    project = get_project(session, user, project_id)
    backbone = project_rows.current_backbone(session, project.id)
    classifier = project_rows.current_classifier(session, project.id)
    return ModelInfo(project, backbone, classifier, learning_curve(session, project.id), classifier_trust(classifier),
                     pretraining(session, backbone) if backbone is not None else None,
                     project_rows.pending_backbone(session, project.id))
