"""A9: ids are never reused after a delete, and the migration that makes it so keeps every row
(a real SQLite file and a real PostgreSQL database)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from labellight.db.base import Base
from labellight.db.migrations import MIGRATIONS_DIR
from labellight.db.models import AuthToken, Backbone, Classifier, Image, Job, LabelClass, Project, User
from labellight.db.session import make_engine
from tests.integration.conftest import MODES
from tests.live_app import production_services

CHAIN = (User, AuthToken, Project, LabelClass, Image, Backbone, Classifier, Job)


@pytest.fixture(params=MODES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "embedded":
        made = make_engine(f"sqlite:///{tmp_path / 'labellight.db'}")
        yield made
        made.dispose()
        return
    with production_services() as env:
        made = make_engine(env["LABELLIGHT_DATABASE_URL"])
        yield made
        made.dispose()


def _migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def _make_chain(session: Session, email: str) -> dict[type[Base], int]:
    """One row of every table whose id is shown in URLs or referred to; their ids by model."""
    user = User(email=email, password_hash="x")
    session.add(user)
    session.flush()
    project = Project(owner_id=user.id, name="p", image_size=32)
    session.add_all([project, AuthToken(user_id=user.id, kind="api", token_hash=email.ljust(64, "0"))])
    session.flush()
    label = LabelClass(project_id=project.id, name="a", color="#000000", position=0)
    backbone = Backbone(project_id=project.id, version=1, config={}, ready=True)
    session.add_all([label, backbone, Job(project_id=project.id, kind="ingest", state="queued", params={},
                                          progress={})])
    session.flush()
    session.add_all([
        Image(project_id=project.id, sha256=email.ljust(64, "0"), filename="a.png", format="PNG", width=1, height=1,
              cache_row=0, class_id=label.id),
        Classifier(project_id=project.id, backbone_id=backbone.id, version=1, n_labels=1, n_folds=1),
    ])
    session.commit()
    return {model: int(session.scalar(select(func.max(model.id))) or 0) for model in CHAIN}


def _counts(session: Session) -> dict[str, int]:
    return {model.__tablename__: int(session.scalar(select(func.count()).select_from(model)) or 0) for model in CHAIN}


def _assert_new_ids_are_greater(engine: Engine) -> None:
    """Delete the newest user (every row of the chain goes with it by cascade), then make the chain again."""
    with Session(engine) as session:
        before = _make_chain(session, "gone@example.com")
        session.delete(session.get(User, before[User]))
        session.commit()
        assert session.scalar(select(func.count()).select_from(Project).where(Project.id == before[Project])) == 0
        after = _make_chain(session, "new@example.com")
    assert {m.__tablename__: after[m] > before[m] for m in CHAIN} == {m.__tablename__: True for m in CHAIN}


def test_a9_ids_are_never_reused_after_a_delete(engine: Engine) -> None:
    _migrate(engine, "head")
    _assert_new_ids_are_greater(engine)


def test_a9_the_migration_to_never_reused_ids_keeps_every_row(engine: Engine) -> None:
    _migrate(engine, "0004")
    with Session(engine) as session:
        _make_chain(session, "kept@example.com")
        expected = _counts(session)
    _migrate(engine, "head")
    with Session(engine) as session:
        assert _counts(session) == expected
        assert session.scalar(select(func.count()).select_from(Image).where(Image.class_id.is_not(None))) == 1
    _assert_new_ids_are_greater(engine)
    _migrate(engine, "0004", down=True)
    _migrate(engine, "head")
    with Session(engine) as session:
        assert _counts(session)["images"] == 2
