"""When a comparison was claimed: the Compare page counts a labeler's reading time from it.

A nullable `claimed_at` on comparisons, set when a labeler claims the row and cleared when the claim
is handed back. After a reload or a server restart the page restores the labeler's claimed
comparison, which has been on their screen since then. Existing rows keep NULL (claimed before
this revision: their reading time counts from when the page shows them again).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("comparisons") as batch:
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("comparisons") as batch:
        batch.drop_column("claimed_at")
