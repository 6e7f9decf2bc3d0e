"""App sessions: labeling-app sign-ins that a page reload or a server restart resumes.

One row per sign-in: the SHA-256 hash of the browser's token (never the token), the labeler, when it
was made and last used, and its lifetime and idle limit. No existing row changes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("labeler_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("max_age_s", sa.Float(), nullable=False),
        sa.Column("max_idle_s", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["labeler_id"], ["labelers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_app_sessions_labeler_id", "app_sessions", ["labeler_id"])


def downgrade() -> None:
    op.drop_index("ix_app_sessions_labeler_id", table_name="app_sessions")
    op.drop_table("app_sessions")
