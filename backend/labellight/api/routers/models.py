"""Pretraining, classifier training, model info and predictions."""

from typing import Annotated, Literal

from fastapi import APIRouter, Body, File, Query, Response, UploadFile, status
from fastapi.responses import FileResponse

from labellight.api.deps import CurrentUser, SessionDep
from labellight.api.errors import PROJECT_ROUTES, answers
from labellight.api.ids import PathId, parse_ids
from labellight.api.job_schemas import JobPublic
from labellight.api.presenters import classifier_public, curve_point, trust_public
from labellight.api.schemas import (
    FilePredictionPublic,
    FinetuneRequest,
    MapPublic,
    ModelInfoPublic,
    PredictionPublic,
    PretrainingPublic,
    PretrainRequest,
    StoredPredictionPublic,
    StoredPredictionsPublic,
)
from labellight.api.uploads import read_upload
from labellight.services import (
    batch_predictions,
    classifier_training,
    embedding_map,
    finetuning,
    model_export,
    model_info,
    predictions,
    pretraining,
)

router = APIRouter(prefix="/projects/{project_id}", tags=["models"], responses={**PROJECT_ROUTES, **answers(413)})


@router.post("/pretrain", status_code=status.HTTP_202_ACCEPTED, response_model_exclude_unset=True)
def start_pretrain(project_id: PathId, user: CurrentUser, session: SessionDep,
                   body: Annotated[PretrainRequest | None, Body()] = None) -> JobPublic:
    overrides = (body or PretrainRequest()).model_dump(exclude_none=True)
    return JobPublic.model_validate(pretraining.start_pretrain(session, user, project_id, overrides))


@router.post("/train", status_code=status.HTTP_202_ACCEPTED, response_model_exclude_unset=True)
def start_train(project_id: PathId, user: CurrentUser, session: SessionDep) -> JobPublic:
    return JobPublic.model_validate(classifier_training.start_train(session, user, project_id))


@router.post("/finetune", status_code=status.HTTP_202_ACCEPTED, response_model_exclude_unset=True)
def start_finetune(project_id: PathId, user: CurrentUser, session: SessionDep,
                   body: Annotated[FinetuneRequest | None, Body()] = None) -> JobPublic:
    epochs = (body or FinetuneRequest()).epochs
    return JobPublic.model_validate(finetuning.start_finetune(session, user, project_id, epochs))


@router.get("/model")
def read_model(project_id: PathId, user: CurrentUser, session: SessionDep) -> ModelInfoPublic:
    info = model_info.model_info(session, user, project_id)
    return ModelInfoPublic(
        backbone_version=info.backbone.version if info.backbone else None,
        model_version=info.model_version,
        pending_backbone_version=info.pending_backbone.version if info.pending_backbone else None,
        classifier=classifier_public(info.classifier, info.project) if info.classifier else None,
        learning_curve=[curve_point(c) for c in info.history],
        trust=trust_public(info.trust),
        pretraining=PretrainingPublic.model_validate(info.pretraining, from_attributes=True)
        if info.pretraining else None,
    )


@router.post("/predict")
def predict(project_id: PathId,
            files: Annotated[list[UploadFile], File(max_length=predictions.MAX_PREDICT_FILES,
                                                    description="images; counted before any is read")],
            user: CurrentUser,
            session: SessionDep, top_k: Annotated[int, Query(ge=1, le=100)] = 3,
            threshold: Annotated[float, Query(ge=0.0, le=1.0, description="flag answers below it")] = 0.0,
            evidence: Annotated[int, Query(ge=0, le=20, description="nearest labeled images")] = 3,
            ) -> PredictionPublic:
    found = predictions.predict(session, user, project_id, [read_upload(f) for f in files], top_k, threshold,
                                evidence)
    return PredictionPublic(
        model_version=found.model_version, backbone_version=found.backbone_version,
        classifier_version=found.classifier_version, ood_threshold=found.ood_threshold,
        predictions=[FilePredictionPublic.model_validate(p) for p in found.predictions],
    )


@router.get("/predictions")
def stored_predictions(project_id: PathId, user: CurrentUser, session: SessionDep,
                       image_ids: Annotated[str, Query(max_length=10_000, description="comma-separated ids")],
                       top_k: Annotated[int, Query(ge=1, le=100)] = 3) -> StoredPredictionsPublic:
    ids = parse_ids(image_ids, "image_ids", limit=predictions.MAX_STORED_PREDICTIONS)
    found = predictions.predict_stored(session, user, project_id, ids, top_k)
    return StoredPredictionsPublic(model_version=found.model_version,
                                   items=[StoredPredictionPublic.model_validate(i) for i in found.items])


@router.get("/map")
def read_map(project_id: PathId, user: CurrentUser, session: SessionDep) -> MapPublic:
    return MapPublic.model_validate(embedding_map.project_map(session, user, project_id))


@router.post("/predictions/export", status_code=status.HTTP_202_ACCEPTED, response_model_exclude_unset=True)
def export_predictions(project_id: PathId, user: CurrentUser, session: SessionDep,
                       top_k: Annotated[int, Query(ge=1, le=20)] = 3) -> JobPublic:
    return JobPublic.model_validate(batch_predictions.start_batch_predict(session, user, project_id, top_k))


@router.get("/predictions/export/{job_id}", response_class=Response)
def download_predictions(project_id: PathId, job_id: PathId, user: CurrentUser, session: SessionDep,
                         fmt: Annotated[Literal["csv", "json"], Query(alias="format")] = "csv") -> Response:
    found = batch_predictions.download_export(session, user, project_id, job_id, fmt)
    return Response(found.data, media_type=found.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{found.filename}"'})


@router.post("/model/export", status_code=status.HTTP_202_ACCEPTED, response_model_exclude_unset=True)
def export_model(project_id: PathId, user: CurrentUser, session: SessionDep,
                 fmt: Annotated[model_export.ExportFormat, Query(alias="format")]) -> JobPublic:
    return JobPublic.model_validate(model_export.start_export(session, user, project_id, fmt))


@router.get("/model/export/{job_id}", response_class=FileResponse)
def download_model(project_id: PathId, job_id: PathId, user: CurrentUser, session: SessionDep) -> FileResponse:
    found = model_export.download_export(session, user, project_id, job_id)
    return FileResponse(found.path, media_type=found.media_type, filename=found.filename)
