"""What to label next: random, cold-start (TypiClust, ProbCover, k-center), uncertainty, hybrid, or auto."""

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from sqlalchemy.orm import Session

from labellight.db import projects as project_rows
from labellight.db.models import Backbone, Classifier, Image, Project, User
from labellight.index.faiss_threads import use_faiss_threads
from labellight.selection.auto_strategy import choose_strategy
from labellight.selection.hybrid import select_hybrid
from labellight.selection.k_center import select_k_center
from labellight.selection.probcover import select_probcover
from labellight.selection.random_pick import select_random
from labellight.selection.suggestion import Suggestion
from labellight.selection.typical_clusters import select_typical
from labellight.selection.uncertainty import select_entropy, select_least_confidence, select_margin
from labellight.services.errors import Conflict
from labellight.services.images import images_by_id
from labellight.services.model_store import Embeddings, embeddings, linear_head
from labellight.services.model_trust import classifier_trust
from labellight.services.projects import get_project


class Strategy(StrEnum):
    AUTO = "auto"
    RANDOM = "random"
    COLD_START = "cold_start"
    """TypiClust: the most typical image of each uncovered cluster."""
    PROBCOVER = "probcover"
    K_CENTER = "k_center"
    MARGIN = "margin"
    LEAST_CONFIDENCE = "least_confidence"
    ENTROPY = "entropy"
    HYBRID = "hybrid"


_AUTO_CHOICES = {"typical": Strategy.COLD_START, "probcover": Strategy.PROBCOVER, "hybrid": Strategy.HYBRID}


@dataclass(frozen=True)
class SuggestedImage:
    image: Image
    reason: dict[str, float | int | str]


@dataclass(frozen=True)
class SuggestionList:
    strategy: Strategy
    items: list[SuggestedImage]


@dataclass(frozen=True)
class _Pool:
    """The candidate images (rows) with their labels, embeddings and the usable classifier."""

    ids: np.ndarray
    class_ids: list[int | None]
    emb: Embeddings | None
    classifier: Classifier | None

    @property
    def labeled(self) -> np.ndarray:
        return np.array([c is not None for c in self.class_ids], dtype=bool)

    def excluded(self, image_ids: Collection[int]) -> np.ndarray | None:
        """Bool mask of the rows of ``image_ids`` (ids outside the pool are ignored); None when empty."""
        return np.isin(self.ids, np.fromiter(image_ids, np.int64)) if image_ids else None


def suggest(session: Session, user: User, project_id: int, strategy: Strategy, count: int, seed: int = 0,
            exclude: Collection[int] = ()) -> SuggestionList:
    """Up to ``count`` images to label next. ``seed`` drives the random, k-means and sampling steps (the
    same seed and project state give the same picks); ``exclude``: image ids never to suggest (e.g. ones
    the user skipped), which still count as data for clustering and coverage."""
    project = get_project(session, user, project_id)
    pool = _pool(session, project)
    if strategy is Strategy.AUTO:
        strategy = _auto(project, pool)
    use_faiss_threads()  # the strategies call FAISS directly, in this request's thread
    picks = _select(strategy, pool, count, seed, pool.excluded(exclude))
    return SuggestionList(strategy, _as_images(session, project.id, pool.ids, picks))


def _pool(session: Session, project: Project) -> _Pool:
    labels = project_rows.image_labels(session, project.id)
    backbone: Backbone | None = project_rows.current_backbone(session, project.id)
    if backbone is None:
        ids = np.array(sorted(labels), dtype=np.int64)
        return _Pool(ids, [labels[int(i)] for i in ids], None, None)
    emb = embeddings(backbone).restricted_to(labels)
    classifier = project_rows.current_classifier(session, project.id)
    usable = classifier if classifier is not None and classifier.backbone_id == backbone.id else None
    return _Pool(emb.ids, [labels[int(i)] for i in emb.ids], emb, usable)


def _auto(project: Project, pool: _Pool) -> Strategy:
    if pool.emb is None:
        return Strategy.RANDOM
    labeled = [c for c in pool.class_ids if c is not None]
    trusted = classifier_trust(pool.classifier).trustworthy
    choice = _AUTO_CHOICES[choose_strategy(len(labeled), len(set(labeled)), trusted, len(project.classes))]
    return Strategy.PROBCOVER if choice is Strategy.HYBRID and pool.classifier is None else choice


def _select(strategy: Strategy, pool: _Pool, count: int, seed: int,
            excluded: np.ndarray | None) -> list[Suggestion]:
    labeled = pool.labeled
    if strategy is Strategy.RANDOM:
        return select_random(len(pool.ids), labeled, count, seed, excluded=excluded)
    if pool.emb is None:
        raise Conflict(f"the {strategy.value} strategy needs embeddings: pretrain the project first")
    vectors = pool.emb.vectors
    if strategy is Strategy.COLD_START:
        return select_typical(vectors, labeled, count, seed, excluded=excluded)
    if strategy is Strategy.PROBCOVER:
        return select_probcover(vectors, labeled, count, seed=seed, excluded=excluded).suggestions
    if strategy is Strategy.K_CENTER:
        return select_k_center(vectors, labeled, count, seed, excluded=excluded)
    if pool.classifier is None:
        raise Conflict(f"the {strategy.value} strategy needs a classifier: label images and train first")
    head = linear_head(pool.classifier)
    probs = head.predict_proba(vectors)
    if strategy is Strategy.HYBRID:
        counts = Counter(c for c in pool.class_ids if c is not None)
        label_counts = np.array([counts.get(int(c), 0) for c in head.classes], dtype=np.int64)
        return select_hybrid(vectors, probs, labeled, count, label_counts, seed, excluded=excluded)
    by_uncertainty = {Strategy.MARGIN: select_margin, Strategy.LEAST_CONFIDENCE: select_least_confidence,
                      Strategy.ENTROPY: select_entropy}
    return by_uncertainty[strategy](probs, labeled, count, excluded=excluded)


def _as_images(session: Session, project_id: int, ids: np.ndarray, picks: list[Suggestion]) -> list[SuggestedImage]:
    chosen = [int(ids[p.index]) for p in picks]
    found = images_by_id(session, project_id, chosen)
    return [SuggestedImage(found[i], p.reason) for i, p in zip(chosen, picks, strict=True) if i in found]
