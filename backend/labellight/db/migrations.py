"""Alembic from code: upgrade to head, and the check that the schema is current before serving."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from labellight.db.session import get_engine

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


class SchemaNotCurrent(RuntimeError):
    """The database is missing tables or migrations; the message says what to run."""


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade_to_head() -> None:
    command.upgrade(_config(), "head")


def check_schema_current() -> None:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    with get_engine().connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current != head:
        raise SchemaNotCurrent(
            f"the database schema is at {current or 'nothing (empty database)'} but the code needs {head}: "
            "run `labellight migrate` (or `alembic upgrade head`) first"
        )
