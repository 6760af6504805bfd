"""Queries about projects: ownership-checked lookups and the summary counts."""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labellight.db.models import Backbone, Classifier, Image, Project


@dataclass(frozen=True)
class ProjectCounts:
    image_count: int
    labeled_count: int


def owned_project(session: Session, owner_id: int, project_id: int) -> Project | None:
    project = session.get(Project, project_id)
    if project is None or project.owner_id != owner_id:
        return None
    return project


def projects_of(session: Session, owner_id: int) -> list[Project]:
    return list(session.scalars(select(Project).where(Project.owner_id == owner_id).order_by(Project.id)))


def counts(session: Session, project_id: int) -> ProjectCounts:
    total, labeled = session.execute(
        select(func.count(Image.id), func.count(Image.class_id)).where(Image.project_id == project_id)
    ).one()
    return ProjectCounts(int(total), int(labeled))


def image_labels(session: Session, project_id: int) -> dict[int, int | None]:
    """Every image id of the project with its class id (None when unlabeled)."""
    return dict(session.execute(select(Image.id, Image.class_id).where(Image.project_id == project_id)).tuples().all())


def current_backbone(session: Session, project_id: int) -> Backbone | None:
    """The newest backbone whose embeddings and index are ready."""
    return session.scalar(
        select(Backbone).where(Backbone.project_id == project_id, Backbone.ready.is_(True))
        .order_by(Backbone.version.desc()).limit(1)
    )


def current_classifier(session: Session, project_id: int) -> Classifier | None:
    return session.scalar(
        select(Classifier).where(Classifier.project_id == project_id)
        .order_by(Classifier.version.desc()).limit(1)
    )


def next_version(session: Session, model: type[Backbone] | type[Classifier], project_id: int) -> int:
    latest = session.scalar(select(func.max(model.version)).where(model.project_id == project_id))
    return int(latest or 0) + 1
