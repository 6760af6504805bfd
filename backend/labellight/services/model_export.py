"""The project's classifier (backbone + head) exported as an ONNX or TorchScript file, as a job."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labellight.db import projects as project_rows
from labellight.db.models import Backbone, Classifier, Job, LabelClass, Project, User
from labellight.db.session import session_scope
from labellight.jobs.context import JobContext, JobFailed
from labellight.jobs.payloads import ExportParams
from labellight.jobs.routes import JobKind, JobState
from labellight.jobs.submit import submit_job
from labellight.ml.export import ExportFormat as ExportFormat
from labellight.ml.export import ExportMetadata, ServedModel, export_model
from labellight.services import quotas
from labellight.services.errors import Conflict, NotFound
from labellight.services.jobs import get_job
from labellight.services.model_store import backbone_module, linear_head
from labellight.services.model_trust import NO_CLASSIFIER
from labellight.services.projects import get_project
from labellight.storage import get_storage
from labellight.storage.keys import model_export_key

MEDIA_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class ExportFile:
    path: Path
    filename: str
    media_type: str


def start_export(session: Session, user: User, project_id: int, fmt: ExportFormat) -> Job:
    """Queue an export of the current classifier (the one current now, even if a retrain follows). An export
    of the same classifier and format that is queued, running or done (its file still there) is answered
    instead: the same file is never made twice."""
    project = get_project(session, user, project_id)
    classifier = project_rows.current_classifier(session, project.id)
    if classifier is None:
        raise Conflict(NO_CLASSIFIER)
    params = {"format": fmt.value, "classifier_id": classifier.id}
    same = session.scalars(select(Job).where(
        Job.project_id == project.id, Job.kind == JobKind.EXPORT.value,
        Job.state.in_([JobState.QUEUED.value, JobState.RUNNING.value, JobState.SUCCEEDED.value]),
    ).order_by(Job.id.desc()))
    for job in same:
        if job.params == params and (job.state != JobState.SUCCEEDED.value
                                     or get_storage().path(model_export_key(project.id, job.id, fmt.suffix)).exists()):
            return job
    quotas.check_active_jobs(session, user)
    return submit_job(session, project.id, JobKind.EXPORT, params)


def run_export(ctx: JobContext[ExportParams]) -> dict[str, Any]:
    fmt = ctx.params.format
    with session_scope() as session:
        classifier = session.get(Classifier, ctx.params.classifier_id)
        backbone = session.get(Backbone, classifier.backbone_id) if classifier else None
        project = session.get(Project, ctx.project_id)
        if classifier is None or backbone is None or project is None:
            raise JobFailed("the classifier to export was deleted: train again and export that one")
        names = dict(session.execute(select(LabelClass.id, LabelClass.name)
                                     .where(LabelClass.project_id == ctx.project_id)).tuples().all())
        input_size = project.image_size
    ctx.report("export", 0.0, force=True)
    head = linear_head(classifier)
    class_ids = [int(c) for c in head.classes]
    metadata = ExportMetadata(
        class_names=[names.get(c, "(deleted class)") for c in class_ids], class_ids=class_ids,
        input_size=input_size, model_version=f"b{backbone.version}.c{classifier.version}",
    )
    model = ServedModel(backbone_module(backbone), head, input_size, int(backbone.config["image_size"]))
    target = get_storage().path(model_export_key(ctx.project_id, ctx.job_id, fmt.suffix))
    size = export_model(model, fmt, target, metadata)
    return {
        "format": fmt.value, "filename": _filename(ctx.project_id, metadata.model_version, fmt), "bytes": size,
        "model_version": metadata.model_version, "classes": metadata.class_names,
        "input": metadata.input_description(),
    }


def _filename(project_id: int, model_version: str, fmt: ExportFormat) -> str:
    return f"labellight-p{project_id}-{model_version}{fmt.suffix}"


def download_export(session: Session, user: User, project_id: int, job_id: int) -> ExportFile:
    """The file of a succeeded export job of the project (404 for other jobs, 409 until it succeeded)."""
    job = get_job(session, user, job_id)
    if job.project_id != project_id or job.kind != JobKind.EXPORT.value:
        raise NotFound("export job not found")
    if job.state != JobState.SUCCEEDED.value or job.result is None:
        raise Conflict(f"the export job is {job.state}: download it once it has succeeded")
    fmt = ExportParams.model_validate(job.params).format
    return ExportFile(get_storage().path(model_export_key(project_id, job.id, fmt.suffix)), str(job.result["filename"]),
                      MEDIA_TYPE)
