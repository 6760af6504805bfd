"""Predictions over the whole project as a job, exported as CSV and JSON."""

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from labellight.db import projects as project_rows
from labellight.db.models import Backbone, Image, Job, LabelClass, User
from labellight.db.session import session_scope
from labellight.jobs.context import JobContext, JobFailed
from labellight.jobs.payloads import PredictParams
from labellight.jobs.routes import JobKind, JobState
from labellight.jobs.submit import submit_job
from labellight.services import quotas
from labellight.services.errors import Conflict, InvalidInput, NotFound
from labellight.services.jobs import get_job
from labellight.services.model_store import embeddings, linear_head
from labellight.services.model_trust import NO_CLASSIFIER
from labellight.services.projects import get_project
from labellight.storage import get_storage
from labellight.storage.keys import export_key

FORMATS = {"csv": "text/csv", "json": "application/json"}
CHUNK = 4096


@dataclass(frozen=True)
class Export:
    data: bytes
    media_type: str
    filename: str


def start_batch_predict(session: Session, user: User, project_id: int, top_k: int) -> Job:
    project = get_project(session, user, project_id)
    if project_rows.current_classifier(session, project.id) is None:
        raise Conflict(NO_CLASSIFIER)
    quotas.check_active_jobs(session, user)
    return submit_job(session, project.id, JobKind.PREDICT, {"top_k": top_k})


def run_batch_predict(ctx: JobContext[PredictParams]) -> dict[str, Any]:
    with session_scope() as session:
        classifier = project_rows.current_classifier(session, ctx.project_id)
        backbone = session.get(Backbone, classifier.backbone_id) if classifier else None
        if classifier is None or backbone is None:
            raise JobFailed(NO_CLASSIFIER)
        names = dict(session.execute(select(LabelClass.id, LabelClass.name)
                                     .where(LabelClass.project_id == ctx.project_id)).tuples().all())
        images = session.execute(select(Image.id, Image.filename, Image.class_id)
                                 .where(Image.project_id == ctx.project_id).order_by(Image.id)).all()
    emb, head = embeddings(backbone), linear_head(classifier)
    ids = np.array([r.id for r in images], dtype=np.int64)
    rows = emb.rows_of(ids)
    top_k = ctx.params.top_k
    records: list[dict[str, Any]] = []
    for start in range(0, len(images), CHUNK):
        ctx.report("predict", start / max(len(images), 1), images_done=start, images=len(images))
        part = [(r, row) for r, row in zip(images[start:start + CHUNK], rows[start:start + CHUNK], strict=True)
                if row >= 0]
        if not part:
            continue
        probs = head.predict_proba(emb.vectors[[row for _, row in part]])
        for (image, _), p in zip(part, probs, strict=True):
            order = np.argsort(-p)[:top_k]
            records.append({
                "image_id": image.id, "filename": image.filename,
                "label": names.get(image.class_id) if image.class_id is not None else None,
                "top_k": [{"class_id": int(head.classes[j]), "class_name": names.get(int(head.classes[j]), ""),
                           "probability": round(float(p[j]), 6)} for j in order],
            })
    model_version = f"b{backbone.version}.c{classifier.version}"
    storage = get_storage()
    storage.put_bytes(export_key(ctx.project_id, ctx.job_id, "json"),
                      json.dumps({"model_version": model_version, "predictions": records}).encode())
    storage.put_bytes(export_key(ctx.project_id, ctx.job_id, "csv"), _csv(records, top_k))
    return {"model_version": model_version, "images": len(records), "skipped": len(images) - len(records),
            "formats": sorted(FORMATS)}


def _csv(records: list[dict[str, Any]], top_k: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["image_id", "filename", "label"]
    for i in range(1, top_k + 1):
        header += [f"class_{i}", f"probability_{i}"]
    writer.writerow(header)
    for r in records:
        row = [r["image_id"], r["filename"], r["label"] or ""]
        for score in r["top_k"]:
            row += [score["class_name"], score["probability"]]
        writer.writerow(row)
    return out.getvalue().encode()


def download_export(session: Session, user: User, project_id: int, job_id: int, fmt: str) -> Export:
    job = get_job(session, user, job_id)
    if job.project_id != project_id:
        raise NotFound("job not found")
    if fmt not in FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(sorted(FORMATS))}")
    if job.kind != JobKind.PREDICT.value or job.state != JobState.SUCCEEDED.value:
        raise Conflict("only a succeeded batch prediction job has an export")
    data = get_storage().get_bytes(export_key(job.project_id, job.id, fmt))
    return Export(data, FORMATS[fmt], f"predictions-project{job.project_id}-job{job.id}.{fmt}")
