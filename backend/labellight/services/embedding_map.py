"""The 2-D map of a project's embeddings, with each image's current label."""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from labellight.db import projects as project_rows
from labellight.db.models import User
from labellight.services.errors import Conflict
from labellight.services.model_store import embedding_map
from labellight.services.projects import get_project


@dataclass(frozen=True)
class MapPoint:
    image_id: int
    x: float
    y: float
    class_id: int | None


@dataclass(frozen=True)
class EmbeddingMap:
    backbone_version: int
    points: list[MapPoint]


def project_map(session: Session, user: User, project_id: int) -> EmbeddingMap:
    project = get_project(session, user, project_id)
    backbone = project_rows.current_backbone(session, project.id)
    if backbone is None:
        raise Conflict("the map needs embeddings: pretrain the project first")
    ids, xy = embedding_map(backbone)
    labels = project_rows.image_labels(session, project.id)
    return EmbeddingMap(backbone.version, [
        MapPoint(int(i), float(x), float(y), labels[int(i)])
        for i, (x, y) in zip(ids, xy, strict=True) if int(i) in labels
    ])
