"""Team management from the app: one-time passwords and an audit of admin actions.

`labelers.must_change_password` is set when an admin issues a one-time password (a new labeler, or a
reset); the next sign-in must choose a new password before anything else. Existing labelers keep
false. `admin_actions` records who did what to whom, and when.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("labelers") as batch:
        batch.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "admin_actions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.String(100), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
    )
    op.create_index("ix_admin_actions_at", "admin_actions", ["at"])


def downgrade() -> None:
    op.drop_index("ix_admin_actions_at", "admin_actions")
    op.drop_table("admin_actions")
    with op.batch_alter_table("labelers") as batch:
        batch.drop_column("must_change_password")
