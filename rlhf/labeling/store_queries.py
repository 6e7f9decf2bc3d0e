"""The label store's read queries for sampling, the loop, export, reward training and import.

Part of the store: `LabelQueries` is mixed into `LabelStore` (`rlhf/labeling/store.py`), so callers use
these as store methods and never see the tables. Results are plain values (`LabelRecord`, ids,
texts, counts), except `effective_labels_of`, which returns label rows like `LabelStore.labels`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Optional

from sqlalchemy import Text, cast, func, select

from rlhf.labeling.schema import BatchRow, ComparisonRow, GoldRow, LabelerRow, LabelRow, QueryRow, SamplingClaimRow


@dataclass(frozen=True)
class LabelRecord:
    """One label with its batch, query and labeler's name, as plain values."""

    label_id: int
    batch_id: int
    query_id: str
    task: str
    prompt: str
    reference: Optional[str]
    split: str
    samples: list[str]  # in STORED order; `choice` indexes them
    policy: str
    round: int
    seed: int
    settings: dict
    labeler: str
    choice: Optional[int]
    shown_order: Optional[list[int]]
    seconds: Optional[float]
    skipped: bool
    flagged: bool
    created_at: datetime


class LabelFacts(NamedTuple):
    """What the statistics read of a label (`rlhf/labeling/stats.py`, `gold.py`, `agreement.py`): the attributes
    of LabelRow of these names, without its texts and tokens. `shown_order` is a tuple: the labels shown in
    one order share it."""

    id: int
    batch_id: int
    labeler_id: int
    choice: Optional[int]
    shown_order: Optional[tuple[int, ...]]
    skipped: bool
    flagged: bool
    reason: Optional[str]
    seconds: Optional[float]


class LabelQueries:
    """Read queries of `LabelStore`; they rely on its `session()` and, for the long ones, `reading()`."""

    def label_facts(self) -> list[LabelFacts]:
        """The effective labels (those no correction supersedes) in id order, as the statistics read them.

        Plain tuples, not `labels()`' ORM rows: at 300,000 labels the dashboard spent about 5 s of CPU
        building those (bench/label_scale.py)."""
        stmt = _effective(select(LabelRow.id, LabelRow.batch_id, LabelRow.labeler_id, LabelRow.choice,
                                 cast(LabelRow.shown_order, Text), LabelRow.skipped, LabelRow.flagged, LabelRow.reason,
                                 LabelRow.seconds)).order_by(LabelRow.id)
        orders: dict[str, tuple[int, ...]] = {}
        with self.reading() as s:
            return [LabelFacts(i, batch, labeler, choice, _order(orders, order), skipped, flagged, reason, seconds)
                    for i, batch, labeler, choice, order, skipped, flagged, reason, seconds in s.execute(stmt)]

    def label_rows_and_newest(self) -> tuple[int, Optional[int]]:
        """(label rows, the newest one's id), superseded ones included: labels are only ever added, so any
        new label changes these (the dashboard's figures are kept until then)."""
        with self.reading() as s:
            rows, newest = s.execute(select(func.count(LabelRow.id), func.max(LabelRow.id))).one()
        return rows, newest

    def sampled_query_ids(self, policy: str, round: int) -> set[str]:
        """The ids of the queries that have a batch from `policy` in `round`."""
        with self.session() as s:
            return set(s.scalars(select(BatchRow.query_id).where(BatchRow.policy == policy, BatchRow.round == round)))

    def count_unlabeled_batches(self, round: int) -> int:
        """The number of ordinary batches of `round` with no label at all (a skip, a flag or a corrected label
        counts); gold batches are checks on labelers, which the loop does not wait for."""
        with self.session() as s:
            return s.scalar(select(func.count()).select_from(BatchRow)
                            .where(BatchRow.round == round, BatchRow.id.not_in(select(LabelRow.batch_id)),
                                   BatchRow.id.not_in(select(GoldRow.batch_id))))

    def exported_labels(self, task_name: Optional[str] = None) -> list[LabelRecord]:
        """Effective labels in id order, skipped and flagged ones included, of one task's queries (None: all)."""
        stmt = _effective(_label_columns())
        if task_name is not None:
            stmt = stmt.join(BatchRow, BatchRow.id == LabelRow.batch_id).join(QueryRow, QueryRow.id == BatchRow.query_id)
            stmt = stmt.where(QueryRow.task == task_name)
        return self._records(stmt)

    def training_labels(self) -> list[LabelRecord]:
        """Effective labels with a choice, neither skipped nor flagged, in id order, of every task."""
        stmt = _effective(_label_columns()).where(LabelRow.skipped.is_(False), LabelRow.flagged.is_(False),
                                                  LabelRow.choice.is_not(None))
        return self._records(stmt)

    def count_superseded_labels(self, task_name: Optional[str] = None) -> int:
        """How many labels of one task's batches (None: all) a correction replaced."""
        stmt = (select(func.count()).select_from(LabelRow).join(BatchRow, BatchRow.id == LabelRow.batch_id)
                .join(QueryRow, QueryRow.id == BatchRow.query_id).where(LabelRow.id.in_(_replaced())))
        if task_name is not None:
            stmt = stmt.where(QueryRow.task == task_name)
        with self.session() as s:
            return s.scalar(stmt)

    def policy_samples(self, policy: str, round: int) -> list[tuple[str, str]]:
        """(prompt, sample) for each sample of the policy's batches of a round, in batch id and stored order."""
        stmt = (select(QueryRow.prompt, BatchRow.samples).join(QueryRow, QueryRow.id == BatchRow.query_id)
                .where(BatchRow.policy == policy, BatchRow.round == round).order_by(BatchRow.id))
        with self.session() as s:
            return [(prompt, sample) for prompt, samples in s.execute(stmt) for sample in samples]

    def find_batch(self, query_id: str, policy: str, samples: list[str]) -> Optional[int]:
        """The id of the oldest batch of this query and policy with exactly these samples, else None."""
        stmt = select(BatchRow).where(BatchRow.query_id == query_id, BatchRow.policy == policy).order_by(BatchRow.id)
        with self.session() as s:
            return next((b.id for b in s.scalars(stmt) if list(b.samples) == list(samples)), None)

    def effective_labels_of(self, batch_id: int, labeler_id: int) -> list[LabelRow]:
        """The labeler's labels of one batch that no correction supersedes, in id order."""
        stmt = _effective(select(LabelRow).where(LabelRow.batch_id == batch_id, LabelRow.labeler_id == labeler_id))
        with self.session() as s:
            return list(s.scalars(stmt.order_by(LabelRow.id)))

    def row_counts(self) -> dict[str, int]:
        """Rows per kind of record, for `rlhf store check`: what a backup or a restore should hold."""
        counted = {"queries": QueryRow.id, "sample batches": BatchRow.id, "labelers": LabelerRow.id, "labels": LabelRow.id,
                   "comparisons": ComparisonRow.id, "sampling claims": SamplingClaimRow.id, "gold batches": GoldRow.batch_id}
        with self.session() as s:
            counts = {name: s.scalar(select(func.count(column))) for name, column in counted.items()}
            counts["effective labels"] = s.scalar(_effective(select(func.count(LabelRow.id))))
        return counts

    def _records(self, stmt) -> list[LabelRecord]:
        """The labels `stmt` (of `_label_columns`) selects, each with its batch and query, in id order.

        Two queries of one snapshot (`reading()`: labeling goes on meanwhile): the labels, then their batches
        with their queries, each once (a batch has several labels). At 300,000 labels, reading the three tables' rows (their token ids
        too, JSON arrays no record holds) for every label took most of an export's time (bench/label_scale.py)."""
        with self.reading() as s:
            labels = s.execute(stmt.order_by(LabelRow.id)).all()
            held = select(BatchRow.id).where(BatchRow.id.in_(stmt.with_only_columns(LabelRow.batch_id)))
            batches = {row[0]: row for row in s.execute(_batch_columns().where(BatchRow.id.in_(held)))}
        orders: dict[str, tuple[int, ...]] = {}
        return [_record(label, batches[label[1]], orders) for label in labels]


def _replaced():
    """Ids of the labels a correction supersedes."""
    return select(LabelRow.supersedes).where(LabelRow.supersedes.is_not(None))


def _effective(stmt):
    return stmt.where(LabelRow.id.not_in(_replaced()))


def _label_columns():
    """What a LabelRecord holds of a label; the JSON shown order as text, decoded once per order (`_order`)."""
    return (select(LabelRow.id, LabelRow.batch_id, LabelerRow.name, LabelRow.choice, cast(LabelRow.shown_order, Text),
                   LabelRow.seconds, LabelRow.skipped, LabelRow.flagged, LabelRow.created_at)
            .join(LabelerRow, LabelerRow.id == LabelRow.labeler_id))


def _batch_columns():
    """What a LabelRecord holds of a batch and its query, in the record's order (not the token ids)."""
    return (select(BatchRow.id, QueryRow.id, QueryRow.task, QueryRow.prompt, QueryRow.reference, QueryRow.split,
                   BatchRow.samples, BatchRow.policy, BatchRow.round, BatchRow.seed, BatchRow.settings)
            .join(QueryRow, QueryRow.id == BatchRow.query_id))


def _record(label, batch, orders: dict) -> LabelRecord:
    """A record of rows of `_label_columns` and `_batch_columns`; records of one batch share its settings dict."""
    label_id, batch_id, labeler, choice, order, seconds, skipped, flagged, created_at = label
    _, query_id, task, prompt, reference, split, samples, policy, round_, seed, settings = batch
    order = _order(orders, order)
    return LabelRecord(label_id, batch_id, query_id, task, prompt, reference, split, list(samples), policy, round_, seed,
                       settings, labeler, choice, None if order is None else list(order), seconds, skipped, flagged, created_at)


def _order(orders: dict, text: Optional[str]) -> Optional[tuple[int, ...]]:
    """A shown order from its JSON text, decoded once per distinct text (24 orders of four samples)."""
    if text is None:
        return None
    if text not in orders:
        order = json.loads(text)  # "null" where the ORM stored None as JSON
        orders[text] = None if order is None else tuple(order)
    return orders[text]
