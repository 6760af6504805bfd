"""Alembic environment: the URL comes from LabelLight's settings (or an engine handed in by the caller)."""

from alembic import context
from sqlalchemy import Connection

from labellight.db import models  # noqa: F401  (registers the tables)
from labellight.db.base import Base
from labellight.db.session import get_engine

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    with get_engine().connect() as conn:
        _run(conn)


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `labellight migrate`")
run_migrations_online()
