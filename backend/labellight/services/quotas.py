"""Operator caps and per-user quotas: what one user may start or hold at once. Each refusal names the limit
and the setting that raises it, so neither a user nor a script can exhaust the box for everyone."""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labellight.config import get_settings
from labellight.db.base import utcnow
from labellight.db.models import Job, Project, UploadSession, User
from labellight.jobs.routes import JobState
from labellight.services.errors import InvalidInput, TooManyRequests

RETRY_AFTER_S = 30


def check_active_jobs(session: Session, user: User) -> None:
    """A user-started job is refused while the user's projects hold the quota of queued or running jobs."""
    limit = get_settings().max_active_jobs_per_user
    active = session.scalar(
        select(func.count(Job.id)).join(Project, Project.id == Job.project_id)
        .where(Project.owner_id == user.id, Job.state.in_([JobState.QUEUED.value, JobState.RUNNING.value]))
    ) or 0
    if active >= limit:
        raise TooManyRequests(
            f"you have {active} jobs queued or running, the most one user may have "
            f"(LABELLIGHT_MAX_ACTIVE_JOBS_PER_USER={limit}): wait for some to finish or cancel them",
            RETRY_AFTER_S)


def check_open_uploads(session: Session, user: User) -> None:
    limit = get_settings().max_open_uploads_per_user
    open_now = session.scalar(
        select(func.count(UploadSession.id))
        .where(UploadSession.user_id == user.id, UploadSession.expires_at > utcnow())
    ) or 0
    if open_now >= limit:
        raise TooManyRequests(
            f"you have {open_now} unfinished uploads, the most one user may have "
            f"(LABELLIGHT_MAX_OPEN_UPLOADS_PER_USER={limit}): complete or cancel some first", RETRY_AFTER_S)


def check_pretrain_overrides(overrides: dict[str, Any]) -> None:
    """Pretraining settings within the operator's caps (the schema's bounds are the absolute ones)."""
    settings = get_settings()
    caps = {
        "image_size": (settings.max_pretrain_image_size, "LABELLIGHT_MAX_PRETRAIN_IMAGE_SIZE", "px"),
        "batch_size": (settings.max_pretrain_batch_size, "LABELLIGHT_MAX_PRETRAIN_BATCH_SIZE", "images"),
        "time_budget_s": (settings.max_job_hours * 3600, "LABELLIGHT_MAX_JOB_HOURS (in hours)", "s"),
    }
    for name, (cap, setting, unit) in caps.items():
        value = overrides.get(name)
        if value is not None and value > cap:
            raise InvalidInput(f"{name} {value:g} is over this server's limit of {cap:g} {unit} ({setting})")
