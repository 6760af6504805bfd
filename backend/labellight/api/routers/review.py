"""Review: the classifier's guesses by confidence, suspected mislabels and labels propagated to unlabeled
neighbours."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from labellight.api.deps import CurrentUser, SessionDep
from labellight.api.errors import PROJECT_ROUTES
from labellight.api.ids import MAX_ID, PathId
from labellight.api.presenters import image_public, trust_public
from labellight.api.schemas import (
    ClassProbabilityPublic,
    ImagePublic,
    MislabelPublic,
    MislabelsPublic,
    PropagatedLabelsPublic,
    ReviewItemPublic,
    ReviewPredictionsPublic,
    TentativeLabelPublic,
)
from labellight.services import review

router = APIRouter(prefix="/projects/{project_id}", tags=["review"], responses=PROJECT_ROUTES)


@router.get("/mislabels")
def list_mislabels(project_id: PathId, user: CurrentUser, session: SessionDep,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> MislabelsPublic:
    found = review.find_mislabels(session, user, project_id, limit)
    return MislabelsPublic(trust=trust_public(found.trust), held_back=found.held_back, items=[
        MislabelPublic(image=image_public(m.image), suggested_class_id=m.suggested_class_id, score=m.score)
        for m in found.items])


@router.get("/propagated-labels")
def list_propagated_labels(project_id: PathId, user: CurrentUser, session: SessionDep,
                           min_confidence: Annotated[float, Query(ge=0.0, le=1.0)] = 0.0,
                           limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> PropagatedLabelsPublic:
    found = review.propagated_labels(session, user, project_id, min_confidence, limit)
    return PropagatedLabelsPublic(trust=trust_public(found.trust), held_back=found.held_back, items=[
        TentativeLabelPublic(image=image_public(t.image), class_id=t.class_id, confidence=t.confidence)
        for t in found.items])


@router.get("/near-duplicates")
def list_near_duplicates(project_id: PathId, user: CurrentUser, session: SessionDep,
                         threshold: Annotated[float, Query(ge=0.5, le=1.0)] = 0.95) -> list[list[ImagePublic]]:
    return [[image_public(i) for i in group] for group in review.near_duplicates(session, user, project_id, threshold)]


@router.get("/predictions/review")
def review_predictions(project_id: PathId, user: CurrentUser, session: SessionDep,
                       class_id: Annotated[int | None, Query(ge=1, le=MAX_ID,
                                                              description="only images guessed as this class")] = None,
                       order: Annotated[Literal["asc", "desc"], Query(description="by confidence")] = "asc",
                       offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
                       limit: Annotated[int, Query(ge=1, le=500)] = 50) -> ReviewPredictionsPublic:
    found = review.review_predictions(session, user, project_id, class_id, order == "desc", offset, limit)
    return ReviewPredictionsPublic(model_version=found.model_version, trust=trust_public(found.trust),
                                   total=found.total, items=[
        ReviewItemPublic(image=image_public(i.image), class_id=i.class_id, confidence=i.confidence,
                         top=[ClassProbabilityPublic.model_validate(t) for t in i.top])
        for i in found.items])
