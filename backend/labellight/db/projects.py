"""Queries about projects: ownership-checked lookups and the summary counts."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labellight.db.models import Backbone, Classifier, Image, Project

T = TypeVar("T")


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
    """The backbone the project serves (map, search, predictions, review): the one its current classifier was
    trained on; with no classifier yet, the newest embedded one. A newer backbone is served only once a
    classifier is trained on it (:func:`pending_backbone`), so features and classifier always move together."""
    classifier = current_classifier(session, project_id)
    if classifier is not None:
        return session.get(Backbone, classifier.backbone_id)
    return newest_backbone(session, project_id)


def newest_backbone(session: Session, project_id: int) -> Backbone | None:
    """The newest backbone whose embeddings and index are ready, served or not yet: the one training builds on."""
    return session.scalar(
        select(Backbone).where(Backbone.project_id == project_id, Backbone.ready.is_(True))
        .order_by(Backbone.version.desc()).limit(1)
    )


def pending_backbone(session: Session, project_id: int) -> Backbone | None:
    """The newest embedded backbone when it is not yet served (it waits for a classifier trained on it)."""
    newest = newest_backbone(session, project_id)
    served = current_backbone(session, project_id)
    return newest if newest is not None and served is not None and newest.id != served.id else None


def has_backbone(session: Session, project_id: int) -> bool:
    """Whether the project has any backbone version, embedded or not yet."""
    return session.scalar(select(Backbone.id).where(Backbone.project_id == project_id).limit(1)) is not None


def current_classifier(session: Session, project_id: int) -> Classifier | None:
    """The classifier the project serves: the newest one on the newest embedded backbone that has one (a
    classifier finishing late on an older backbone does not take the project back to that backbone)."""
    return session.scalar(
        select(Classifier).join(Backbone, Classifier.backbone_id == Backbone.id)
        .where(Classifier.project_id == project_id, Backbone.ready.is_(True))
        .order_by(Backbone.version.desc(), Classifier.version.desc()).limit(1)
    )


def next_version(session: Session, model: type[Backbone] | type[Classifier], project_id: int) -> int:
    latest = session.scalar(select(func.max(model.version)).where(model.project_id == project_id))
    return int(latest or 0) + 1


def claim_next_version(session: Session, row: Backbone | Classifier) -> int:
    """Insert ``row`` as its project's next version and flush it, so that the number is claimed
    before any file is written under it. Two jobs racing for one number: the later flush raises
    ``IntegrityError`` (unique project + version); run the transaction again (:func:`retry_on_clash`)."""
    row.version = next_version(session, type(row), row.project_id)
    session.add(row)
    session.flush()
    return row.version


def retry_on_clash(transaction: Callable[[], T], attempts: int = 5) -> T:
    """Run ``transaction`` (which opens and commits its own session) again when it loses a race
    for a unique number."""
    for attempt in range(attempts):
        try:
            return transaction()
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
