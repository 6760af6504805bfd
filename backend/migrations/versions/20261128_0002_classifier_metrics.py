"""classifier metrics

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 15:22:58.159738
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import labellight.db.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("classifiers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("metrics", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("classifiers", schema=None) as batch_op:
        batch_op.drop_column("metrics")
