"""Similar images: nearest neighbours of an image of the project or of an uploaded query image."""

from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from labellight.db import projects as project_rows
from labellight.db.models import Backbone, Image, User
from labellight.services import rate_limits
from labellight.services.errors import Conflict
from labellight.services.images import get_image, images_by_id
from labellight.services.inference import embed_queries
from labellight.services.model_store import embeddings, vector_index
from labellight.services.projects import get_project
from labellight.services.queries import query_pixels


@dataclass(frozen=True)
class Neighbour:
    image: Image
    score: float


@dataclass(frozen=True)
class SearchHits:
    backbone_version: int
    items: list[Neighbour]


def _ready_backbone(session: Session, project_id: int) -> Backbone:
    backbone = project_rows.current_backbone(session, project_id)
    if backbone is None:
        raise Conflict("search needs embeddings: pretrain the project first")
    return backbone


def similar_to_image(session: Session, user: User, project_id: int, image_id: int, k: int) -> SearchHits:
    image = get_image(session, user, project_id, image_id)
    backbone = _ready_backbone(session, image.project_id)
    emb = embeddings(backbone)
    row = int(emb.rows_of(np.array([image.id]))[0])
    if row < 0:
        raise Conflict("this image has no embedding yet: wait for the embed job to finish")
    return _search(session, backbone, emb.vectors[row:row + 1], k, exclude=image.id)


def similar_to_upload(session: Session, user: User, project_id: int, name: str, data: bytes,
                      k: int) -> SearchHits:
    project = get_project(session, user, project_id)
    rate_limits.hit_inference(user.id)
    pixels = query_pixels([(name, data)], project.image_size)  # the input is checked before the project's state
    backbone = _ready_backbone(session, project.id)
    vector = embed_queries(backbone, pixels)
    return _search(session, backbone, vector, k, exclude=None)


def _search(session: Session, backbone: Backbone, query: np.ndarray, k: int, exclude: int | None) -> SearchHits:
    scores, ids = vector_index(backbone).search(query.astype(np.float32), k + (exclude is not None))
    hits = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0 and i != exclude][:k]
    found = images_by_id(session, backbone.project_id, [i for i, _ in hits])
    return SearchHits(backbone.version, [Neighbour(found[i], s) for i, s in hits if i in found])
