"""The table from job kind to the use-case that runs it, which a worker's task hands the job runner."""

from labellight.db.models import Job
from labellight.db.session import session_scope
from labellight.jobs.routes import JobKind
from labellight.jobs.runner import Handler, run_job
from labellight.services import (
    batch_predictions,
    classifier_training,
    embedding,
    finetuning,
    ingestion,
    model_export,
    pretraining,
)

HANDLERS: dict[JobKind, Handler] = {
    JobKind.INGEST: ingestion.run_ingest,
    JobKind.PRETRAIN: pretraining.run_pretrain,
    JobKind.EMBED: embedding.run_embed,
    JobKind.TRAIN: classifier_training.run_train,
    JobKind.PREDICT: batch_predictions.run_batch_predict,
    JobKind.EXPORT: model_export.run_export,
    JobKind.FINETUNE: finetuning.run_finetune,
}


def run_queued(job_id: int) -> str:
    """Run a job with its kind's handler, as a worker's task does, for callers that hold only its id."""
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None:
            return "skipped"
        kind = JobKind(job.kind)
    return run_job(job_id, HANDLERS[kind])
