"""What to label next: random, cold start (typical images of clusters), margin uncertainty, or auto."""

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from labellight.db import projects as project_rows
from labellight.db.models import Image, User
from labellight.selection.random_pick import select_random
from labellight.selection.suggestion import Suggestion
from labellight.selection.typical_clusters import select_typical
from labellight.selection.uncertainty import select_margin
from labellight.services.errors import Conflict
from labellight.services.images import images_by_id
from labellight.services.model_store import embeddings, linear_head
from labellight.services.projects import get_project


class Strategy(StrEnum):
    AUTO = "auto"
    RANDOM = "random"
    COLD_START = "cold_start"
    MARGIN = "margin"


@dataclass(frozen=True)
class SuggestedImage:
    image: Image
    reason: dict[str, float | int | str]


@dataclass(frozen=True)
class SuggestionList:
    strategy: Strategy
    items: list[SuggestedImage]


def suggest(session: Session, user: User, project_id: int, strategy: Strategy, count: int) -> SuggestionList:
    project = get_project(session, user, project_id)
    backbone = project_rows.current_backbone(session, project.id)
    classifier = project_rows.current_classifier(session, project.id)
    if strategy is Strategy.AUTO:
        strategy = (Strategy.MARGIN if classifier is not None and backbone is not None
                    and classifier.backbone_id == backbone.id
                    else Strategy.COLD_START if backbone is not None else Strategy.RANDOM)
    labels: dict[int, int | None] = dict(
        session.execute(select(Image.id, Image.class_id).where(Image.project_id == project.id)).tuples().all()
    )
    if strategy is Strategy.RANDOM:
        ids = np.array(sorted(labels), dtype=np.int64)
        picks = select_random(len(ids), _labeled_mask(ids, labels), count)
    else:
        if backbone is None:
            raise Conflict(f"the {strategy.value} strategy needs embeddings: pretrain the project first")
        emb = embeddings(backbone)
        keep = np.isin(emb.ids, np.fromiter(labels, dtype=np.int64, count=len(labels)))
        ids, vectors = emb.ids[keep], emb.vectors[keep]
        labeled = _labeled_mask(ids, labels)
        if strategy is Strategy.COLD_START:
            picks = select_typical(vectors, labeled, count)
        else:
            if classifier is None or classifier.backbone_id != backbone.id:
                raise Conflict("the margin strategy needs a classifier: label images and train first")
            picks = select_margin(linear_head(classifier).predict_proba(vectors), labeled, count)
    return SuggestionList(strategy, _as_images(session, project.id, ids, picks))


def _labeled_mask(ids: np.ndarray, labels: dict[int, int | None]) -> np.ndarray:
    return np.array([labels.get(int(i)) is not None for i in ids], dtype=bool)


def _as_images(session: Session, project_id: int, ids: np.ndarray, picks: list[Suggestion]) -> list[SuggestedImage]:
    chosen = [int(ids[p.index]) for p in picks]
    found = images_by_id(session, project_id, chosen)
    return [SuggestedImage(found[i], p.reason) for i, p in zip(chosen, picks, strict=True) if i in found]
