"""Projects and their classes, always looked up through their owner."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labellight.config import get_settings
from labellight.db import projects as project_rows
from labellight.db.models import Backbone, Classifier, Image, Job, LabelClass, Project, User
from labellight.services.errors import Conflict, InvalidInput, NotFound
from labellight.storage import get_storage
from labellight.storage.keys import project_prefix

# Ten colours that stay apart for most colour-blind viewers (Tableau 10, its grey swapped for a purple:
# grey is the colour of unlabeled images on the map).
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
           "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#6a3d9a")


@dataclass(frozen=True)
class ProjectSummary:
    project: Project
    counts: project_rows.ProjectCounts
    backbone: Backbone | None
    classifier: Classifier | None
    last_activity_at: datetime
    """The newest of: the project's creation, an image upload, a label, a job created or finished."""


def clean_name(name: str, what: str, max_length: int) -> str:
    cleaned = " ".join(name.replace("\x00", "").split())
    if not cleaned:
        raise InvalidInput(f"the {what} name must not be empty")
    if len(cleaned) > max_length:
        raise InvalidInput(f"the {what} name must be at most {max_length} characters")
    return cleaned


def get_project(session: Session, user: User, project_id: int) -> Project:
    project = project_rows.owned_project(session, user.id, project_id)
    if project is None:
        raise NotFound("project not found")
    return project


def create_project(session: Session, user: User, name: str) -> Project:
    project = Project(owner_id=user.id, name=clean_name(name, "project", 200),
                      image_size=get_settings().cache_image_size)
    session.add(project)
    session.flush()
    return project


def summarise(session: Session, project: Project) -> ProjectSummary:
    return ProjectSummary(
        project=project,
        counts=project_rows.counts(session, project.id),
        backbone=project_rows.current_backbone(session, project.id),
        classifier=project_rows.current_classifier(session, project.id),
        last_activity_at=last_activity(session, project),
    )


def last_activity(session: Session, project: Project) -> datetime:
    """When anything last happened in the project (uploads, labels, jobs), else when it was created."""
    times = session.execute(select(
        select(func.max(Image.created_at)).where(Image.project_id == project.id).scalar_subquery(),
        select(func.max(Image.labeled_at)).where(Image.project_id == project.id).scalar_subquery(),
        select(func.max(Job.created_at)).where(Job.project_id == project.id).scalar_subquery(),
        select(func.max(Job.finished_at)).where(Job.project_id == project.id).scalar_subquery(),
    )).one()
    stamps: list[datetime] = [project.created_at, *(t for t in times if t is not None)]
    return max(stamps)


def list_projects(session: Session, user: User) -> list[ProjectSummary]:
    return [summarise(session, p) for p in project_rows.projects_of(session, user.id)]


def delete_project(session: Session, user: User, project_id: int) -> None:
    """Delete a project, its rows and its files.

    Its job rows go by cascade, which fences its jobs: a queued one is never claimed, a running one loses
    its lease at its next heartbeat and may not commit (see ``jobs.fence``); files such a job writes
    after this are removed by the job itself. The files go only once the rows are gone, so a delete
    that fails leaves a whole project."""
    project = get_project(session, user, project_id)
    session.delete(project)
    session.commit()
    get_storage().delete_tree(project_prefix(project_id))


def add_class(session: Session, user: User, project_id: int, name: str) -> LabelClass:
    project = get_project(session, user, project_id)
    cleaned = clean_name(name, "class", 100)
    # Names differing only in case are one class ("cat" and "Cat"), as imports of class folders read them.
    same = next((c for c in project.classes if c.name.casefold() == cleaned.casefold()), None)
    if same is not None:
        spelled = "" if same.name == cleaned else f" (as {same.name!r}: names are compared ignoring case)"
        raise Conflict(f"the class {cleaned!r} already exists{spelled}: label with it, or choose another name")
    cap = get_settings().max_classes_per_project
    if len(project.classes) >= cap:
        raise InvalidInput(f"a project may hold at most {cap} classes (LABELLIGHT_MAX_CLASSES_PER_PROJECT)")
    position = len(project.classes)
    label_class = LabelClass(project_id=project.id, name=cleaned, position=position,
                             color=PALETTE[position % len(PALETTE)])
    project.classes.append(label_class)
    session.flush()
    return label_class


def delete_class(session: Session, user: User, project_id: int, class_id: int) -> None:
    project = get_project(session, user, project_id)
    label_class = next((c for c in project.classes if c.id == class_id), None)
    if label_class is None:
        raise NotFound("class not found")
    project.classes.remove(label_class)
    session.flush()
    # Positions stay 0..n-1 so that hotkeys (1-9, 0, then letters) follow the visible order.
    for index, remaining in enumerate(project.classes):
        remaining.position = index
    session.flush()
