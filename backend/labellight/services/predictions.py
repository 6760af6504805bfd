"""Predict classes of uploaded images with the project's current classifier."""

import math
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from labellight.db import projects as project_rows
from labellight.db.models import Backbone, Classifier, Image, LabelClass, User
from labellight.ml.classifier import LinearHead
from labellight.services import rate_limits
from labellight.services.errors import Conflict, InvalidInput
from labellight.services.images import images_by_id
from labellight.services.inference import embed_queries
from labellight.services.model_store import embeddings, linear_head, vector_index
from labellight.services.model_trust import NO_CLASSIFIER
from labellight.services.projects import get_project
from labellight.services.queries import query_pixels

MAX_PREDICT_FILES = 256
MAX_STORED_PREDICTIONS = 500
EVIDENCE_POOL = 50


@dataclass(frozen=True)
class ClassScore:
    class_id: int
    class_name: str
    probability: float


@dataclass(frozen=True)
class Evidence:
    """A labeled image of the project near the query."""

    image_id: int
    class_id: int
    score: float


@dataclass(frozen=True)
class FilePrediction:
    filename: str
    top_k: list[ClassScore]
    below_threshold: bool
    """The top probability is under the request's threshold: treat the answer as unsure."""
    out_of_distribution: bool
    """The image is farther from every project image than the calibrated percentile."""
    nearest_distance: float
    evidence: list[Evidence]


@dataclass(frozen=True)
class PredictionSet:
    backbone_version: int
    classifier_version: int
    predictions: list[FilePrediction]
    ood_threshold: float | None
    """Nearest-neighbour distance beyond which an image is out of distribution (None: not calibrated)."""

    @property
    def model_version(self) -> str:
        return f"b{self.backbone_version}.c{self.classifier_version}"


@dataclass(frozen=True)
class StoredPrediction:
    image_id: int
    top_k: list[ClassScore]


@dataclass(frozen=True)
class StoredPredictionSet:
    backbone_version: int
    classifier_version: int
    items: list[StoredPrediction]

    @property
    def model_version(self) -> str:
        return f"b{self.backbone_version}.c{self.classifier_version}"


def current_models(session: Session, project_id: int) -> tuple[Classifier, Backbone]:
    """The current classifier and the backbone it was trained on; Conflict when there is none."""
    classifier = project_rows.current_classifier(session, project_id)
    if classifier is None:
        raise Conflict(NO_CLASSIFIER)
    backbone = session.get(Backbone, classifier.backbone_id)
    if backbone is None:
        raise Conflict("the classifier's backbone was deleted: train again")
    return classifier, backbone


def _top_k(session: Session, project_id: int, head: LinearHead, probs: np.ndarray, k: int) -> list[list[ClassScore]]:
    names = dict(session.execute(
        select(LabelClass.id, LabelClass.name).where(LabelClass.project_id == project_id)).tuples().all())
    k = min(k, probs.shape[1])
    return [[ClassScore(int(head.classes[j]), names.get(int(head.classes[j]), "(deleted class)"), float(row[j]))
             for j in np.argsort(-row)[:k]] for row in probs]


def predict(session: Session, user: User, project_id: int, files: list[tuple[str, bytes]], top_k: int,
            threshold: float = 0.0, evidence: int = 3) -> PredictionSet:
    """Top-k classes of uploaded images, with the nearest labeled images as evidence and an
    out-of-distribution flag."""
    project = get_project(session, user, project_id)
    rate_limits.hit_inference(user.id)
    pixels = query_pixels(files, project.image_size)  # the input is checked before the project's state
    classifier, backbone = current_models(session, project.id)
    vectors = embed_queries(backbone, pixels)
    head = linear_head(classifier)
    probs = head.predict_proba(vectors)
    scores = _top_k(session, project.id, head, probs, top_k)
    distances, nearest = _nearest_labeled(session, project.id, backbone, vectors, evidence)
    threshold_ood = embeddings(backbone).ood_threshold
    return PredictionSet(backbone.version, classifier.version, [
        FilePrediction(name, s, bool(p.max() < threshold), bool(d > threshold_ood), float(d), e)
        for (name, _), s, p, d, e in zip(files, scores, probs, distances, nearest, strict=True)
    ], threshold_ood if math.isfinite(threshold_ood) else None)


def _nearest_labeled(session: Session, project_id: int, backbone: Backbone, vectors: np.ndarray,
                     count: int) -> tuple[np.ndarray, list[list[Evidence]]]:
    """Distance of each query to its nearest project image, and its ``count`` nearest labeled images."""
    scores, ids = vector_index(backbone).search(vectors.astype(np.float32), EVIDENCE_POOL)
    labels: dict[int, int] = {i: c for i, c in session.execute(select(Image.id, Image.class_id).where(
        Image.project_id == project_id, Image.class_id.is_not(None))).tuples() if c is not None}
    distances = np.sqrt(np.maximum(2.0 - 2.0 * scores[:, 0].astype(np.float64), 0.0))
    found = [[Evidence(int(i), labels[int(i)], float(sc)) for i, sc in zip(row_ids, row_scores, strict=True)
              if int(i) in labels][:count] for row_ids, row_scores in zip(ids, scores, strict=True)]
    return distances, found


def predict_stored(session: Session, user: User, project_id: int, image_ids: list[int],
                   top_k: int) -> StoredPredictionSet:
    """Top-k classes of the project's own images, from their stored embeddings (images not yet embedded
    are left out)."""
    project = get_project(session, user, project_id)
    if len(image_ids) > MAX_STORED_PREDICTIONS:
        raise InvalidInput(f"ask for at most {MAX_STORED_PREDICTIONS} images per request")
    classifier, backbone = current_models(session, project.id)
    emb = embeddings(backbone)
    ids = np.array(sorted(set(images_by_id(session, project.id, image_ids))), dtype=np.int64)
    rows = emb.rows_of(ids)
    ids, rows = ids[rows >= 0], rows[rows >= 0]
    head = linear_head(classifier)
    scores = _top_k(session, project.id, head, head.predict_proba(emb.vectors[rows]), top_k) if len(rows) else []
    return StoredPredictionSet(backbone.version, classifier.version,
                               [StoredPrediction(int(i), s) for i, s in zip(ids, scores, strict=True)])
