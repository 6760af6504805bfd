"""Labels in and out: a labels file (filename → class) applied to the project's images, and the labels
exported as CSV, JSON or an ImageFolder zip of the original images."""

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import StreamingResponse

from labellight.api.deps import CurrentUser, SessionDep
from labellight.api.errors import PROJECT_ROUTES, answers
from labellight.api.ids import PathId
from labellight.api.label_schemas import LabelImportPublic
from labellight.api.uploads import read_upload
from labellight.services import label_export, label_import

router = APIRouter(prefix="/projects/{project_id}/labels", tags=["labels"], responses=PROJECT_ROUTES)


@router.post("/import", responses=answers(413))
def import_labels(project_id: PathId, file: Annotated[UploadFile, File()], user: CurrentUser,
                  session: SessionDep) -> LabelImportPublic:
    """Label images already in the project from a CSV (columns ``filename`` and ``class``) or a JSON file
    (``{"a.png": "cat"}`` or a list of ``{"filename", "class"}``), matched by the names the images were
    uploaded under. Rows that match no image are reported; a file that matches none changes nothing."""
    name, data = read_upload(file)
    return LabelImportPublic.model_validate(label_import.import_label_file(session, user, project_id, name, data))


@router.get("/export", response_class=StreamingResponse, responses={200: {"content": {
    "text/csv": {}, "application/json": {}, "application/zip": {}}}})
def export_labels(project_id: PathId, user: CurrentUser, session: SessionDep,
                  fmt: Annotated[label_export.LabelExportFormat, Query(alias="format")] =
                  label_export.LabelExportFormat.CSV) -> StreamingResponse:
    """The labeled images: ``csv`` and ``json`` (filename, sha256, class, labeled_at, image_id), or
    ``imagefolder``, a zip of the original images in one folder per class."""
    found = label_export.export_labels(session, user, project_id, fmt)
    return StreamingResponse(found.chunks, media_type=found.media_type,
                             headers={"Content-Disposition": f'attachment; filename="{found.filename}"'})
