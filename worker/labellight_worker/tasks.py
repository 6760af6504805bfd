"""Thin tasks: each carries a job id, and the job runner does the rest (claim, run, record)."""

from labellight.jobs.routes import TASK_NAMES, JobKind
from labellight.services.job_runner import run_job
from labellight_worker.celery_app import app


@app.task(name=TASK_NAMES[JobKind.INGEST])
def ingest(job_id: int) -> str:
    return run_job(job_id)


@app.task(name=TASK_NAMES[JobKind.PRETRAIN])
def pretrain(job_id: int) -> str:
    return run_job(job_id)


@app.task(name=TASK_NAMES[JobKind.EMBED])
def embed(job_id: int) -> str:
    return run_job(job_id)


@app.task(name=TASK_NAMES[JobKind.TRAIN])
def train(job_id: int) -> str:
    return run_job(job_id)


@app.task(name=TASK_NAMES[JobKind.PREDICT])
def predict(job_id: int) -> str:
    return run_job(job_id)


@app.task(name=TASK_NAMES[JobKind.EXPORT])
def export(job_id: int) -> str:
    return run_job(job_id)


@app.task(name=TASK_NAMES[JobKind.FINETUNE])
def finetune(job_id: int) -> str:
    return run_job(job_id)
