"""Tables of the label store (SQLAlchemy ORM), following the record formats of DESIGN.md §4.

Labels are append-only: a correction is a new row whose `supersedes` points at the old one, and
the effective label of (batch, labeler) is the newest row that nothing supersedes.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """A stored time as an aware UTC datetime: SQLite hands back naive ones (the zone is dropped)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    pass


class QueryRow(Base):
    __tablename__ = "queries"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    task: Mapped[str] = mapped_column(String(100))
    prompt: Mapped[str] = mapped_column(Text)
    reference: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    split: Mapped[str] = mapped_column(String(10), default="train")
    token_ids: Mapped[Optional[list]] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BatchRow(Base):
    """Four (or k) continuations of one query from one policy: what a labeler chooses among.

    `held_by_people` and `held_by_machines` count the batch's assignments by labelers who sign in and by
    imported and simulated ones, kept by the store as it hands batches out (`rlhf/labeling/store_places.py`):
    finding a batch fewer than labelers_per_batch hold reads the few open batches through their index
    instead of counting every assignment of the store.
    """

    __tablename__ = "sample_batches"
    __table_args__ = (Index("ix_sample_batches_held", "held_by_people", "held_by_machines", "id"),
                      Index("ix_sample_batches_held_by_machines", "held_by_machines", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    query_id: Mapped[str] = mapped_column(ForeignKey("queries.id"), index=True)
    samples: Mapped[list] = mapped_column(JSON)
    sample_token_ids: Mapped[Optional[list]] = mapped_column(JSON, nullable=True)
    policy: Mapped[str] = mapped_column(String(255))
    round: Mapped[int] = mapped_column(Integer, default=0)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    held_by_people: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    held_by_machines: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class LabelerRow(Base):
    __tablename__ = "labelers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)  # none for simulated labelers
    role: Mapped[str] = mapped_column(String(20), default="labeler")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Set when an admin issued a one-time password: the next sign-in must choose a new one first.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class AssignmentRow(Base):
    """A batch handed to a labeler, with the order its samples are shown in (fixed on assignment)."""

    __tablename__ = "assignments"
    # (labeler, done, batch): a labeler's open item, progress and batches had are read from the index alone.
    __table_args__ = (UniqueConstraint("batch_id", "labeler_id"), Index("ix_assignments_labeler_id_done_batch_id", "labeler_id", "done", "batch_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("sample_batches.id"), index=True)
    labeler_id: Mapped[int] = mapped_column(ForeignKey("labelers.id"))
    shown_order: Mapped[list] = mapped_column(JSON)
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    done: Mapped[bool] = mapped_column(Boolean, default=False)


class LabelRow(Base):
    __tablename__ = "labels"
    # (labeler, created_at, seconds): the labeling page's labels per hour are read from the index alone.
    __table_args__ = (Index("ix_labels_labeler_id_created_at_seconds", "labeler_id", "created_at", "seconds"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("sample_batches.id"), index=True)
    labeler_id: Mapped[int] = mapped_column(ForeignKey("labelers.id"))
    choice: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)  # index in the STORED order
    shown_order: Mapped[Optional[list]] = mapped_column(JSON, nullable=True)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    seconds: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    supersedes: Mapped[Optional[int]] = mapped_column(ForeignKey("labels.id"), nullable=True, unique=True)
    # A client-chosen token: a double click or a retried request stores the label once.
    client_token: Mapped[Optional[str]] = mapped_column(String(64), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GoldRow(Base):
    """A gold question: a batch whose best sample is known. Served among the other items at
    `labeling.gold_rate`; each labeler's choice on it is stored as any label and scored against `best`."""

    __tablename__ = "gold_batches"

    batch_id: Mapped[int] = mapped_column(ForeignKey("sample_batches.id"), primary_key=True, autoincrement=False)
    best: Mapped[int] = mapped_column(Integer)  # index in the STORED order
    source: Mapped[str] = mapped_column(String(255))  # who knew it: app:NAME, file:NAME, sim:KIND
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ComparisonRow(Base):
    """A pairwise judgement for evaluation: which of two systems' outputs for a query is better."""

    __tablename__ = "comparisons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    query_id: Mapped[str] = mapped_column(ForeignKey("queries.id"), index=True)
    a: Mapped[str] = mapped_column(String(255))
    b: Mapped[str] = mapped_column(String(255))
    a_text: Mapped[str] = mapped_column(Text)
    b_text: Mapped[str] = mapped_column(Text)
    judge: Mapped[Optional[str]] = mapped_column(String(100), nullable=True)
    winner: Mapped[Optional[str]] = mapped_column(String(4), nullable=True)  # a, b, tie; null until judged
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True), nullable=True)  # null when open


class SamplingClaimRow(Base):
    """A query one sampler is sampling now for a policy and round: the unique key keeps a second one off it.

    Only work in progress: the sampler deletes its claims once their batches are stored, or when it
    stops (error, Ctrl+C). A claim left by a killed sampler is taken over once its owner is seen to
    be gone or it is `CLAIM_STALE_AFTER` old (rlhf/labeling/store_claims.py).
    """

    __tablename__ = "sampling_claims"
    __table_args__ = (UniqueConstraint("query_id", "policy", "round"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    query_id: Mapped[str] = mapped_column(String(255))
    policy: Mapped[str] = mapped_column(String(255))
    round: Mapped[int] = mapped_column(Integer)
    owner: Mapped[str] = mapped_column(String(255), index=True)  # host, PID namespace, PID and a random part
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AppSessionRow(Base):
    """A labeling-app sign-in that outlives its browser tab: a reload or a server restart resumes it.

    The browser keeps a random token in a cookie; the store keeps only its SHA-256 hash, when the
    sign-in was made and last used, and its limits (rlhf/labeling/app_sessions.py).
    """

    __tablename__ = "app_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    labeler_id: Mapped[int] = mapped_column(ForeignKey("labelers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    max_age_s: Mapped[float] = mapped_column(Float)
    max_idle_s: Mapped[float] = mapped_column(Float)


class AdminActionRow(Base):
    """One admin action on the team (who, what, when): added, password reset, (de)activated, role changed."""

    __tablename__ = "admin_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))  # the admin's name, or "cli:<os user>" for the command line
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(100))  # the labeler acted on
    detail: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
