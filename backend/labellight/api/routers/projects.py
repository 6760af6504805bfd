"""Projects and their classes."""

from fastapi import APIRouter, status

from labellight.api.deps import CurrentUser, SessionDep
from labellight.api.errors import PROJECT_ROUTES
from labellight.api.ids import PathId
from labellight.api.presenters import class_public, project_public
from labellight.api.schemas import ClassCreate, ClassPublic, ProjectCreate, ProjectPublic
from labellight.services import projects

router = APIRouter(prefix="/projects", tags=["projects"], responses=PROJECT_ROUTES)


@router.get("")
def list_projects(user: CurrentUser, session: SessionDep) -> list[ProjectPublic]:
    return [project_public(s) for s in projects.list_projects(session, user)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_project(body: ProjectCreate, user: CurrentUser, session: SessionDep) -> ProjectPublic:
    project = projects.create_project(session, user, body.name)
    return project_public(projects.summarise(session, project))


@router.get("/{project_id}")
def read_project(project_id: PathId, user: CurrentUser, session: SessionDep) -> ProjectPublic:
    return project_public(projects.summarise(session, projects.get_project(session, user, project_id)))


@router.delete("/{project_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_project(project_id: PathId, user: CurrentUser, session: SessionDep) -> None:
    projects.delete_project(session, user, project_id)


@router.post("/{project_id}/classes", status_code=status.HTTP_201_CREATED)
def create_class(project_id: PathId, body: ClassCreate, user: CurrentUser, session: SessionDep) -> ClassPublic:
    return class_public(projects.add_class(session, user, project_id, body.name))


@router.delete("/{project_id}/classes/{class_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_class(project_id: PathId, class_id: PathId, user: CurrentUser, session: SessionDep) -> None:
    projects.delete_class(session, user, project_id, class_id)
