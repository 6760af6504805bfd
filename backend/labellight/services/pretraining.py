"""The pretrain job: BYOL on the project's pixel cache, a new backbone version, then an embed job."""

from dataclasses import asdict, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labellight.db import projects as project_rows
from labellight.db.models import Backbone, Image, Job, Project, User
from labellight.db.session import session_scope
from labellight.ingest.pixels import PixelCache
from labellight.jobs.routes import JobKind
from labellight.ml.checkpoint import save_state_dict
from labellight.ml.device import pick_device
from labellight.ml.pretrain import PretrainProgress, preset, pretrain
from labellight.services.errors import InvalidInput
from labellight.services.job_context import JobContext, JobFailed
from labellight.services.job_queue import submit_job
from labellight.services.projects import get_project
from labellight.storage import get_storage
from labellight.storage.keys import backbone_weights_key, pixel_cache_key

MIN_IMAGES = 8
OVERRIDABLE = ("epochs", "batch_size", "image_size")


def start_pretrain(session: Session, user: User, project_id: int, overrides: dict[str, int]) -> Job:
    project = get_project(session, user, project_id)
    count = project_rows.counts(session, project.id).image_count
    if count < MIN_IMAGES:
        raise InvalidInput(f"upload at least {MIN_IMAGES} images before pretraining (the project has {count})")
    params = {k: v for k, v in overrides.items() if k in OVERRIDABLE and v is not None}
    return submit_job(session, project.id, JobKind.PRETRAIN, params)


def run_pretrain(ctx: JobContext) -> dict[str, Any]:
    with session_scope() as session:
        project = session.get(Project, ctx.project_id)
        if project is None:
            raise JobFailed("the project was deleted")
        image_size = project.image_size
        rows = int(session.scalar(select(func.count(Image.id)).where(Image.project_id == project.id)) or 0)
    if rows < MIN_IMAGES:
        raise JobFailed(f"upload at least {MIN_IMAGES} images before pretraining")
    storage = get_storage()
    pixels = PixelCache(storage.path(pixel_cache_key(ctx.project_id)), image_size).read(rows)
    device = pick_device()
    overrides: dict[str, Any] = {k: int(ctx.params[k]) for k in OVERRIDABLE if k in ctx.params}
    config = replace(preset(device, rows, source_size=image_size), **overrides)
    last: list[PretrainProgress] = []

    def on_progress(p: PretrainProgress) -> None:
        last[:] = [p]
        ctx.report("pretrain", p.step / max(p.total_steps, 1), epoch=p.epoch, epochs=p.epochs,
                   loss=round(p.loss, 5), images_per_s=round(p.images_per_s, 1), eta_s=round(p.eta_s, 1),
                   device=device.type)

    ctx.report("pretrain", 0.0, force=True, epoch=0, epochs=config.epochs, device=device.type)
    backbone = pretrain(pixels, config, on_progress=on_progress, should_stop=ctx.should_stop, device=device)
    with session_scope() as session:
        version = project_rows.next_version(session, Backbone, ctx.project_id)
        save_state_dict(backbone, storage.path(backbone_weights_key(ctx.project_id, version)))
        row = Backbone(project_id=ctx.project_id, version=version, config=asdict(config), ready=False)
        session.add(row)
        session.flush()
        submit_job(session, ctx.project_id, JobKind.EMBED, {"backbone_id": row.id})
    return {"backbone_version": version, "epochs": config.epochs,
            "final_loss": round(last[0].loss, 5) if last else None, "device": device.type}
