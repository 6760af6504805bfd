"""Review aids: labels that look wrong, and tentative labels propagated to unlabeled neighbours."""

from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from labellight.db import projects as project_rows
from labellight.db.models import Image, Project, User
from labellight.index.near_duplicates import near_duplicate_groups
from labellight.ml.mislabels import suspected_mislabels
from labellight.ml.propagation import propagate_labels
from labellight.services.errors import Conflict
from labellight.services.images import images_by_id
from labellight.services.model_store import Embeddings, embeddings
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


def _labeled_embeddings(session: Session, project: Project) -> tuple[Embeddings, np.ndarray]:
    """The current backbone's embeddings of the project's images and their labels (-1 = none)."""
    backbone = project_rows.current_backbone(session, project.id)
    if backbone is None:
        raise Conflict("review needs embeddings: pretrain the project first")
    labels = project_rows.image_labels(session, project.id)
    emb = embeddings(backbone).restricted_to(labels)
    y = np.array([labels[int(i)] if labels[int(i)] is not None else -1 for i in emb.ids], dtype=np.int64)
    return emb, y


def near_duplicates(session: Session, user: User, project_id: int, threshold: float) -> list[list[Image]]:
    """Groups of images whose embeddings are near duplicates (cosine >= ``threshold``)."""
    project = get_project(session, user, project_id)
    emb, _ = _labeled_embeddings(session, project)
    groups = near_duplicate_groups(emb.vectors, emb.ids, threshold)
    images = images_by_id(session, project.id, [i for group in groups for i in group])
    return [[images[i] for i in group if i in images] for group in groups]


def find_mislabels(session: Session, user: User, project_id: int, limit: int) -> list[Mislabel]:
    project = get_project(session, user, project_id)
    emb, y = _labeled_embeddings(session, project)
    found = suspected_mislabels(emb.vectors, y)[:limit]
    images = images_by_id(session, project.id, [int(emb.ids[m.row]) for m in found])
    return [Mislabel(images[int(emb.ids[m.row])], m.suggested_label, m.score) for m in found]


def propagated_labels(session: Session, user: User, project_id: int, min_confidence: float,
                      limit: int) -> list[TentativeLabel]:
    """Unlabeled images with the label their labeled neighbours spread to them, most confident first."""
    project = get_project(session, user, project_id)
    emb, y = _labeled_embeddings(session, project)
    if (y >= 0).sum() == 0:
        return []
    tentative, confidence = propagate_labels(emb.vectors, y)
    rows = np.flatnonzero((y < 0) & (tentative >= 0) & (confidence >= min_confidence))
    rows = rows[np.argsort(-confidence[rows], kind="stable")][:limit]
    images = images_by_id(session, project.id, [int(emb.ids[r]) for r in rows])
    return [TentativeLabel(images[int(emb.ids[r])], int(tentative[r]), float(confidence[r])) for r in rows]
