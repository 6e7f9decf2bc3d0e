"""Gold questions: batches with a known best sample, served among the others to check labelers.

One row per gold batch: its id (also the key), the best sample's index in the stored order, where the
answer came from and when. No existing row changes: labels on a batch marked gold later are scored
against its answer like those given after.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gold_batches",
        sa.Column("batch_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("best", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["sample_batches.id"]),
        sa.PrimaryKeyConstraint("batch_id"),
    )


def downgrade() -> None:
    op.drop_table("gold_batches")
