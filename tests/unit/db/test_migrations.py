"""The migrations build exactly the schema the models declare (on a throw-away SQLite file)."""

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from labellight.db import models  # noqa: F401  (registers the tables)
from labellight.db.base import Base
from labellight.db.migrations import _config


def test_migrations_at_head_match_the_models(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    config = _config()
    with engine.connect() as conn:  # outside a transaction: the migrations turn SQLite's foreign keys off
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert differences == []
