"""The label store as `Base.metadata.create_all` made it before migrations existed.

Stores created then have no alembic_version table; `rlhf.migrations.upgrade` stamps them with this
revision (their tables are exactly these) and upgrades them from here.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "queries",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("task", sa.String(length=100), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("split", sa.String(length=10), nullable=False),
        sa.Column("token_ids", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "labelers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "sample_batches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("query_id", sa.String(length=255), nullable=False),
        sa.Column("samples", sa.JSON(), nullable=False),
        sa.Column("sample_token_ids", sa.JSON(), nullable=True),
        sa.Column("policy", sa.String(length=255), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["query_id"], ["queries.id"]),
    )
    op.create_index("ix_sample_batches_query_id", "sample_batches", ["query_id"])
    op.create_table(
        "comparisons",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("query_id", sa.String(length=255), nullable=False),
        sa.Column("a", sa.String(length=255), nullable=False),
        sa.Column("b", sa.String(length=255), nullable=False),
        sa.Column("a_text", sa.Text(), nullable=False),
        sa.Column("b_text", sa.Text(), nullable=False),
        sa.Column("judge", sa.String(length=100), nullable=True),
        sa.Column("winner", sa.String(length=4), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["query_id"], ["queries.id"]),
    )
    op.create_index("ix_comparisons_query_id", "comparisons", ["query_id"])
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("labeler_id", sa.Integer(), nullable=False),
        sa.Column("shown_order", sa.JSON(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("batch_id", "labeler_id"),
        sa.ForeignKeyConstraint(["batch_id"], ["sample_batches.id"]),
        sa.ForeignKeyConstraint(["labeler_id"], ["labelers.id"]),
    )
    op.create_index("ix_assignments_batch_id", "assignments", ["batch_id"])
    op.create_index("ix_assignments_labeler_id", "assignments", ["labeler_id"])
    op.create_table(
        "labels",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("labeler_id", sa.Integer(), nullable=False),
        sa.Column("choice", sa.Integer(), nullable=True),
        sa.Column("shown_order", sa.JSON(), nullable=True),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("supersedes", sa.Integer(), nullable=True),
        sa.Column("client_token", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["batch_id"], ["sample_batches.id"]),
        sa.ForeignKeyConstraint(["labeler_id"], ["labelers.id"]),
        sa.UniqueConstraint("supersedes"),
        sa.ForeignKeyConstraint(["supersedes"], ["labels.id"]),
        sa.UniqueConstraint("client_token"),
    )
    op.create_index("ix_labels_batch_id", "labels", ["batch_id"])
    op.create_index("ix_labels_labeler_id", "labels", ["labeler_id"])


def downgrade() -> None:
    op.drop_table("comparisons")
    op.drop_table("labels")
    op.drop_table("assignments")
    op.drop_table("sample_batches")
    op.drop_table("labelers")
    op.drop_table("queries")
