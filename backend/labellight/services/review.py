"""Review aids: labels that look wrong, and tentative labels propagated to unlabeled neighbours.

The kNN graph they stand on comes from the embed job (``model_store.neighbour_graph``); a request
narrows it to the images that still exist and does only the work that depends on the current labels.
Suspected mislabels and propagated labels are held back while the classifier is not trustworthy
(:mod:`labellight.services.model_trust`): when a linear head on the same embeddings does no better
than guessing, the neighbours do not carry the labels either, and their suggestions would undo
correct labels or spread the most common class.
"""

from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
from sqlalchemy.orm import Session

from labellight.curation.mislabels import suspected_mislabels
from labellight.curation.near_duplicates import near_duplicate_groups
from labellight.curation.propagation import propagate_labels
from labellight.db import projects as project_rows
from labellight.db.models import Image, Project, User
from labellight.index.neighbour_graph import NeighbourGraph
from labellight.ml.baselines import Trust
from labellight.services.errors import Conflict, NotFound
from labellight.services.images import images_by_id
from labellight.services.model_store import Embeddings, embeddings, linear_head, neighbour_graph
from labellight.services.model_trust import classifier_trust, current_trust
from labellight.services.predictions import current_models
from labellight.services.projects import get_project


@dataclass(frozen=True)
class Mislabel:
    image: Image
    suggested_class_id: int
    score: float


@dataclass(frozen=True)
class TentativeLabel:
    image: Image
    class_id: int
    confidence: float


T = TypeVar("T")


@dataclass(frozen=True)
class Suggestions(Generic[T]):
    """Review suggestions with the verdict on the classifier; none while it is not trustworthy."""

    trust: Trust
    items: list[T]

    @property
    def held_back(self) -> bool:
        return not self.trust.trustworthy


@dataclass(frozen=True)
class ClassProbability:
    class_id: int
    probability: float


@dataclass(frozen=True)
class ReviewItem:
    """The classifier's guess for an unlabeled image: its top class, that class's probability, the top few."""

    image: Image
    class_id: int
    confidence: float
    top: list[ClassProbability]


@dataclass(frozen=True)
class ReviewPage:
    model_version: str
    trust: Trust
    total: int
    items: list[ReviewItem]


def _labeled_embeddings(session: Session, project: Project) -> tuple[Embeddings, np.ndarray, NeighbourGraph]:
    """The current backbone's embeddings of the project's images, their labels (-1 = none) and their kNN
    graph; images deleted since the embed are left out, also as neighbours."""
    backbone = project_rows.current_backbone(session, project.id)
    if backbone is None:
        raise Conflict("review needs embeddings: pretrain the project first")
    labels = project_rows.image_labels(session, project.id)
    every = embeddings(backbone)
    keep = every.kept(labels)
    emb = every.restricted_to(labels)
    graph = neighbour_graph(backbone).restricted(keep)
    y = np.array([labels[int(i)] if labels[int(i)] is not None else -1 for i in emb.ids], dtype=np.int64)
    return emb, y, graph


def near_duplicates(session: Session, user: User, project_id: int, threshold: float) -> list[list[Image]]:
    """Groups of images whose embeddings are near duplicates (cosine >= ``threshold``)."""
    project = get_project(session, user, project_id)
    emb, _, graph = _labeled_embeddings(session, project)
    groups = near_duplicate_groups(emb.vectors, emb.ids, threshold, graph=graph)
    images = images_by_id(session, project.id, [i for group in groups for i in group])
    return [[images[i] for i in group if i in images] for group in groups]


def find_mislabels(session: Session, user: User, project_id: int, limit: int) -> Suggestions[Mislabel]:
    project = get_project(session, user, project_id)
    emb, y, graph = _labeled_embeddings(session, project)
    trust = current_trust(session, project.id)
    if not trust.trustworthy:
        return Suggestions(trust, [])
    found = suspected_mislabels(emb.vectors, y, graph=graph)[:limit]
    images = images_by_id(session, project.id, [int(emb.ids[m.row]) for m in found])
    return Suggestions(trust, [Mislabel(images[int(emb.ids[m.row])], m.suggested_label, m.score) for m in found])


def propagated_labels(session: Session, user: User, project_id: int, min_confidence: float,
                      limit: int) -> Suggestions[TentativeLabel]:
    """Unlabeled images with the label their labeled neighbours spread to them, most confident first."""
    project = get_project(session, user, project_id)
    emb, y, graph = _labeled_embeddings(session, project)
    trust = current_trust(session, project.id)
    if not trust.trustworthy or (y >= 0).sum() == 0:
        return Suggestions(trust, [])
    tentative, confidence = propagate_labels(emb.vectors, y, graph=graph)
    rows = np.flatnonzero((y < 0) & (tentative >= 0) & (confidence >= min_confidence))
    rows = rows[np.argsort(-confidence[rows], kind="stable")][:limit]
    images = images_by_id(session, project.id, [int(emb.ids[r]) for r in rows])
    return Suggestions(trust, [TentativeLabel(images[int(emb.ids[r])], int(tentative[r]), float(confidence[r]))
                               for r in rows])


def review_predictions(session: Session, user: User, project_id: int, class_id: int | None, descending: bool,
                       offset: int, limit: int, top_k: int = 3) -> ReviewPage:
    """One page of the classifier's guesses for the unlabeled, embedded images, ordered by confidence (the
    top probability; ties by image id), optionally only those guessed as ``class_id``."""
    project = get_project(session, user, project_id)
    if class_id is not None and all(c.id != class_id for c in project.classes):
        raise NotFound(f"class {class_id} is not a class of this project")
    classifier, backbone = current_models(session, project.id)
    labels = project_rows.image_labels(session, project.id)
    emb = embeddings(backbone).restricted_to(i for i, c in labels.items() if c is None)
    head = linear_head(classifier)
    probs = head.predict_proba(emb.vectors) if len(emb.ids) else np.zeros((0, len(head.classes)))
    best = probs.argmax(axis=1)
    confidence = probs.max(axis=1, initial=0.0)
    rows = np.arange(len(emb.ids)) if class_id is None else np.flatnonzero(head.classes[best] == class_id)
    # lexsort: the last key is the primary one; image ids break ties so that pages never overlap.
    rows = rows[np.lexsort((emb.ids[rows], -confidence[rows] if descending else confidence[rows]))]
    page = rows[offset:offset + limit]
    images = images_by_id(session, project.id, [int(emb.ids[r]) for r in page])
    items = [ReviewItem(images[int(emb.ids[r])], int(head.classes[best[r]]), float(confidence[r]),
                        [ClassProbability(int(head.classes[j]), float(probs[r, j]))
                         for j in np.argsort(-probs[r], kind="stable")[:top_k]])
             for r in page if int(emb.ids[r]) in images]
    return ReviewPage(f"b{backbone.version}.c{classifier.version}", classifier_trust(classifier), len(rows), items)
