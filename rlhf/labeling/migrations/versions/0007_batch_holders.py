"""Counters of each batch's holders, and indexes for the labeling page at scale.

`sample_batches.held_by_people` and `held_by_machines` count the batch's assignments by labelers with a
password and without (`rlhf/labeling/store_places.py`); they are counted here from the assignments
of an existing store. With their indexes the store finds the batches fewer than labelers_per_batch
hold without counting every assignment. `assignments (labeler_id, done, batch_id)` and `labels
(labeler_id, created_at, seconds)` replace the single-column labeler indexes: a labeler's open item,
progress, batches had and labels per hour are read from the index alone. Measured by bench/label_scale.py (100,000 batches,
300,000 labels).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_HOLDERS = ("UPDATE sample_batches SET {column} = (SELECT count(*) FROM assignments JOIN labelers "
            "ON labelers.id = assignments.labeler_id WHERE assignments.batch_id = sample_batches.id "
            "AND labelers.password_hash IS {kind})")


def upgrade() -> None:
    with op.batch_alter_table("sample_batches") as batch:
        batch.add_column(sa.Column("held_by_people", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("held_by_machines", sa.Integer(), nullable=False, server_default="0"))
    op.execute(_HOLDERS.format(column="held_by_people", kind="NOT NULL"))
    op.execute(_HOLDERS.format(column="held_by_machines", kind="NULL"))
    op.create_index("ix_sample_batches_held", "sample_batches", ["held_by_people", "held_by_machines", "id"])
    op.create_index("ix_sample_batches_held_by_machines", "sample_batches", ["held_by_machines", "id"])
    op.drop_index("ix_assignments_labeler_id", "assignments")
    op.create_index("ix_assignments_labeler_id_done_batch_id", "assignments", ["labeler_id", "done", "batch_id"])
    op.drop_index("ix_labels_labeler_id", "labels")
    op.create_index("ix_labels_labeler_id_created_at_seconds", "labels", ["labeler_id", "created_at", "seconds"])


def downgrade() -> None:
    op.drop_index("ix_labels_labeler_id_created_at_seconds", "labels")
    op.create_index("ix_labels_labeler_id", "labels", ["labeler_id"])
    op.drop_index("ix_assignments_labeler_id_done_batch_id", "assignments")
    op.create_index("ix_assignments_labeler_id", "assignments", ["labeler_id"])
    op.drop_index("ix_sample_batches_held_by_machines", "sample_batches")
    op.drop_index("ix_sample_batches_held", "sample_batches")
    with op.batch_alter_table("sample_batches") as batch:
        batch.drop_column("held_by_machines")
        batch.drop_column("held_by_people")
