"""The project's current backbone and classifier."""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from labellight.db import projects as project_rows
from labellight.db.models import Backbone, Classifier, Project, User
from labellight.services.classifier_training import learning_curve
from labellight.services.projects import get_project


@dataclass(frozen=True)
class ModelInfo:
    project: Project
    backbone: Backbone | None
    classifier: Classifier | None
    history: list[Classifier]


def model_info(session: Session, user: User, project_id: int) -> ModelInfo:
    project = get_project(session, user, project_id)
    return ModelInfo(project, project_rows.current_backbone(session, project.id),
                     project_rows.current_classifier(session, project.id), learning_curve(session, project.id))
