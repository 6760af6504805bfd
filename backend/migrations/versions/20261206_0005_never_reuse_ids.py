"""never reuse ids: AUTOINCREMENT on SQLite

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 01:30:00

SQLite gives a new row the largest rowid + 1, so deleting the newest project handed its id to the next
project created, and a job still running for the deleted one wrote into it. AUTOINCREMENT never reuses
an id. SQLite cannot add it to a table, so each table is recreated (batch mode copies the rows; env.py
turns foreign keys off meanwhile, so dropping the old table deletes nothing by cascade). PostgreSQL's
sequences never reuse a value: nothing to do there.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Parents before children, so that each copy finds its parents' rows in place.
TABLES = ("users", "auth_tokens", "projects", "label_classes", "images", "backbones", "classifiers", "jobs")


def _recreate_all(autoincrement: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}):
            pass
    broken = bind.execute(sa.text("PRAGMA foreign_key_check")).fetchall()
    if broken:
        raise RuntimeError(f"foreign keys broken by the table copy: {broken[:10]}")


def upgrade() -> None:
    _recreate_all(autoincrement=True)


def downgrade() -> None:
    _recreate_all(autoincrement=False)
