"""Predict classes of uploaded images with the project's current classifier."""

from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from labellight.db import projects as project_rows
from labellight.db.models import Backbone, LabelClass, User
from labellight.ml.embed import embed
from labellight.services.errors import Conflict, InvalidInput
from labellight.services.model_store import backbone_module, linear_head
from labellight.services.projects import get_project
from labellight.services.queries import query_pixels

MAX_PREDICT_FILES = 256


@dataclass(frozen=True)
class ClassScore:
    class_id: int
    class_name: str
    probability: float


@dataclass(frozen=True)
class FilePrediction:
    filename: str
    top_k: list[ClassScore]


@dataclass(frozen=True)
class PredictionSet:
    backbone_version: int
    classifier_version: int
    predictions: list[FilePrediction]

    @property
    def model_version(self) -> str:
        return f"b{self.backbone_version}.c{self.classifier_version}"


def predict(session: Session, user: User, project_id: int, files: list[tuple[str, bytes]],
            top_k: int) -> PredictionSet:
    project = get_project(session, user, project_id)
    classifier = project_rows.current_classifier(session, project.id)
    if classifier is None:
        raise Conflict("the project has no classifier yet: label images and train one")
    if len(files) > MAX_PREDICT_FILES:
        raise InvalidInput(f"send at most {MAX_PREDICT_FILES} images per request")
    backbone = session.get(Backbone, classifier.backbone_id)
    if backbone is None:
        raise Conflict("the classifier's backbone was deleted: train again")
    pixels = query_pixels(files, project.image_size)
    vectors = embed(backbone_module(backbone), pixels, int(backbone.config["image_size"]))
    head = linear_head(classifier)
    probs = head.predict_proba(vectors)
    names = {c.id: c.name for c in session.query(LabelClass).filter(LabelClass.project_id == project.id)}
    k = min(top_k, probs.shape[1])
    results = []
    for (name, _), row in zip(files, probs, strict=True):
        order = np.argsort(-row)[:k]
        results.append(FilePrediction(name, [
            ClassScore(int(head.classes[j]), names.get(int(head.classes[j]), "(deleted class)"), float(row[j]))
            for j in order
        ]))
    return PredictionSet(backbone.version, classifier.version, results)
