"""Alembic environment: the URL comes from LabelLight's settings (or an engine handed in by the caller)."""

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import context
from sqlalchemy import Connection

from labellight.db import models  # noqa: F401  (registers the tables)
from labellight.db.base import Base
from labellight.db.session import get_engine

target_metadata = Base.metadata


@contextmanager
def _sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    """Foreign keys off on SQLite while migrating: batch mode recreates a table by copying it and dropping
    the old one, and with foreign keys on, that drop deletes every row that refers to it by cascade.
    The pragma is set on the driver connection, outside any transaction (inside one SQLite ignores it)."""
    if connection.dialect.name != "sqlite":
        yield
        return
    driver = connection.connection.driver_connection
    if driver is None or driver.in_transaction:
        raise RuntimeError("SQLite migrations need a connection outside a transaction (to turn foreign keys off)")
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        driver.execute("PRAGMA foreign_keys=ON")
        if driver.in_transaction:  # a failed migration left one open, where the pragma is ignored: discard
            connection.invalidate()


def _run(connection: Connection) -> None:
    with _sqlite_foreign_keys_off(connection):
        _configure_and_run(connection)


def _configure_and_run(connection: Connection) -> None:
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
