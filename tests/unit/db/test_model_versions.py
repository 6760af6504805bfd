"""Two jobs racing for a project's next model version never share one (a real SQLite database)."""

from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from labellight.db.base import Base
from labellight.db.models import Backbone, Project, User
from labellight.db.projects import claim_next_version, retry_on_clash
from labellight.db.session import make_engine


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'labellight.db'}")
    Base.metadata.create_all(engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory.begin() as session:
        user = User(email="a@example.com", password_hash="x")
        session.add(user)
        session.flush()
        session.add(Project(owner_id=user.id, name="p", image_size=32))
    return factory


def _project_id(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalars(select(Project.id)).one())


def _backbone(project_id: int) -> Backbone:
    return Backbone(project_id=project_id, config={}, ready=True)


def test_a_version_taken_meanwhile_is_retried_with_the_next_number(sessions: sessionmaker[Session]) -> None:
    project_id = _project_id(sessions)
    attempts: list[int] = []

    def other_job_commits_first(session: Session, *_: object) -> None:
        # Another worker commits the same number between this job's SELECT and its INSERT.
        if len(attempts) == 1:
            with sessions.begin() as other:
                other.add(Backbone(project_id=project_id, version=1, config={}, ready=True))

    def store() -> int:
        with sessions.begin() as session:
            attempts.append(1)
            event.listen(session, "before_flush", other_job_commits_first)
            return claim_next_version(session, _backbone(project_id))

    assert retry_on_clash(store) == 2
    assert len(attempts) == 2
    with sessions() as session:
        assert sorted(session.scalars(select(Backbone.version))) == [1, 2]


def test_gives_up_after_the_attempts() -> None:
    calls: list[int] = []

    def always_clashes() -> int:
        calls.append(1)
        raise IntegrityError("insert", {}, Exception("UNIQUE constraint failed"))

    with pytest.raises(IntegrityError):
        retry_on_clash(always_clashes, attempts=3)
    assert len(calls) == 3
