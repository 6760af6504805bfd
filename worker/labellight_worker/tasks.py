"""Thin tasks: each carries a job id and hands the job runner its kind's handler (claim, run, record)."""

from labellight.jobs.routes import TASK_NAMES, JobKind
from labellight.jobs.runner import run_job
from labellight.services.job_handlers import HANDLERS
from labellight_worker.celery_app import app


@app.task(name=TASK_NAMES[JobKind.INGEST])
def ingest(job_id: int) -> str:
    return run_job(job_id, HANDLERS[JobKind.INGEST])


@app.task(name=TASK_NAMES[JobKind.PRETRAIN])
def pretrain(job_id: int) -> str:
    return run_job(job_id, HANDLERS[JobKind.PRETRAIN])


@app.task(name=TASK_NAMES[JobKind.EMBED])
def embed(job_id: int) -> str:
    return run_job(job_id, HANDLERS[JobKind.EMBED])


@app.task(name=TASK_NAMES[JobKind.TRAIN])
def train(job_id: int) -> str:
    return run_job(job_id, HANDLERS[JobKind.TRAIN])


@app.task(name=TASK_NAMES[JobKind.PREDICT])
def predict(job_id: int) -> str:
    return run_job(job_id, HANDLERS[JobKind.PREDICT])


@app.task(name=TASK_NAMES[JobKind.EXPORT])
def export(job_id: int) -> str:
    return run_job(job_id, HANDLERS[JobKind.EXPORT])


@app.task(name=TASK_NAMES[JobKind.FINETUNE])
def finetune(job_id: int) -> str:
    return run_job(job_id, HANDLERS[JobKind.FINETUNE])
