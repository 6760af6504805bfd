"""Uploads, image listing and bytes, labels, suggestions and similarity search."""

from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile, status

from labellight.api.deps import CurrentUser, SessionDep
from labellight.api.errors import PROJECT_ROUTES, answers
from labellight.api.ids import MAX_ID, PathId, QueryId, parse_ids
from labellight.api.job_schemas import JobPublic
from labellight.api.presenters import image_public
from labellight.api.schemas import (
    ImageList,
    ImagePublic,
    LabelResult,
    LabelUpdate,
    NeighbourPublic,
    SearchResultPublic,
    SuggestionPublic,
    SuggestionReason,
    SuggestionsPublic,
)
from labellight.api.uploads import read_upload
from labellight.services import images, search, suggestions, uploads
from labellight.services.images import ImageBytes
from labellight.services.search import SearchHits

router = APIRouter(prefix="/projects/{project_id}", tags=["images"], responses={**PROJECT_ROUTES, **answers(413)})
MAX_EXCLUDED = 1_000
MAX_QUERY_CHARS = 8_000  # a URL the HTTP server accepts (its request line is bounded)


def _image_response(found: ImageBytes) -> Response:
    return Response(found.data, media_type=found.content_type,
                    headers={"Cache-Control": "private, max-age=86400", "Content-Disposition": "inline"})


def _search_public(hits: SearchHits) -> SearchResultPublic:
    return SearchResultPublic(backbone_version=hits.backbone_version,
                              items=[NeighbourPublic(image=image_public(n.image), score=n.score) for n in hits.items])


@router.post("/uploads", status_code=status.HTTP_202_ACCEPTED, response_model_exclude_unset=True)
def upload_images(project_id: PathId, files: Annotated[list[UploadFile], File()], user: CurrentUser,
                  session: SessionDep) -> JobPublic:
    incoming = [uploads.IncomingFile(f.filename or "unnamed", f.file) for f in files]
    return JobPublic.model_validate(uploads.start_ingest(session, user, project_id, incoming))


@router.get("/images")
def list_images(project_id: PathId, user: CurrentUser, session: SessionDep, labeled: bool | None = None,
                class_id: QueryId | None = None, offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> ImageList:
    page = images.list_images(session, user, project_id, labeled=labeled, class_id=class_id,
                              offset=offset, limit=limit)
    return ImageList(items=[image_public(i) for i in page.items], total=page.total)


@router.get("/images/{image_id}")
def read_image(project_id: PathId, image_id: PathId, user: CurrentUser, session: SessionDep) -> ImagePublic:
    return image_public(images.get_image(session, user, project_id, image_id))


@router.delete("/images/{image_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_image(project_id: PathId, image_id: PathId, user: CurrentUser, session: SessionDep) -> None:
    images.delete_image(session, user, project_id, image_id)


@router.get("/images/{image_id}/thumbnail", response_class=Response)
def read_thumbnail(project_id: PathId, image_id: PathId, user: CurrentUser, session: SessionDep) -> Response:
    return _image_response(images.thumbnail(session, user, project_id, image_id))


@router.get("/images/{image_id}/file", response_class=Response)
def read_file(project_id: PathId, image_id: PathId, user: CurrentUser, session: SessionDep) -> Response:
    return _image_response(images.original(session, user, project_id, image_id))


@router.put("/labels")
def set_labels(project_id: PathId, body: LabelUpdate, user: CurrentUser, session: SessionDep) -> LabelResult:
    return LabelResult(updated=images.set_labels(session, user, project_id, body.image_ids, body.class_id))


@router.get("/suggestions")
def suggest(project_id: PathId, user: CurrentUser, session: SessionDep,
            strategy: suggestions.Strategy = suggestions.Strategy.AUTO,
            count: Annotated[int, Query(ge=1, le=500)] = 10,
            seed: Annotated[int, Query(ge=0, le=2**31 - 1, description="another seed, another draw")] = 0,
            exclude: Annotated[str, Query(max_length=MAX_QUERY_CHARS, description="comma-separated image ids")] = "",
            ) -> SuggestionsPublic:
    skipped = parse_ids(exclude, "exclude", limit=MAX_EXCLUDED)
    found = suggestions.suggest(session, user, project_id, strategy, count, seed, skipped)
    return SuggestionsPublic(strategy=found.strategy.value, items=[
        SuggestionPublic(image=image_public(s.image), reason=SuggestionReason.model_validate(s.reason))
        for s in found.items
    ])


@router.get("/images/{image_id}/similar")
def similar_images(project_id: PathId, image_id: PathId, user: CurrentUser, session: SessionDep,
                   k: Annotated[int, Query(ge=1, le=200)] = 10) -> SearchResultPublic:
    return _search_public(search.similar_to_image(session, user, project_id, image_id, k))


@router.post("/search")
def search_by_image(project_id: PathId, file: Annotated[UploadFile, File()], user: CurrentUser,
                    session: SessionDep, k: Annotated[int, Query(ge=1, le=200)] = 10) -> SearchResultPublic:
    name, data = read_upload(file)
    return _search_public(search.similar_to_upload(session, user, project_id, name, data, k))
