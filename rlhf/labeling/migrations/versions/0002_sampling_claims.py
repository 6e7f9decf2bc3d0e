"""Sampling claims: the queries a sampler is sampling now, so that two samplers never sample one twice.

One row per (query, policy, round) being sampled (unique together); rlhf/labeling/store_claims.py
takes, hands back and takes over claims. No existing row changes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sampling_claims",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("query_id", sa.String(length=255), nullable=False),
        sa.Column("policy", sa.String(length=255), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("query_id", "policy", "round"),
    )
    op.create_index("ix_sampling_claims_owner", "sampling_claims", ["owner"])


def downgrade() -> None:
    op.drop_index("ix_sampling_claims_owner", table_name="sampling_claims")
    op.drop_table("sampling_claims")
