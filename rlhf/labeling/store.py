"""The label store: queries, sample batches, labelers, assignments, labels and comparisons.

One small API used by the CLI, the Streamlit app, the simulated labelers and the trainers. SQLite
in the run directory by default (WAL mode, so the app and a trainer can read while a labeler
writes); PostgreSQL for a team (`labeling.database_url`, tested); any SQLAlchemy URL should work.
Opening a store brings its schema to the newest migration (`rlhf/labeling/migrations`). Labels are append-only.
The read queries of sampling, export, reward training and import are in `rlhf/labeling/store_queries.py`,
sampling claims in `store_claims.py`, pairwise comparisons in `store_comparisons.py`, gold questions in `store_gold.py`,
labelers and team management in `store_labelers.py`, the batches open to a labeler (each batch's holder counts) in
`store_places.py`; the SQLite file is checked on opening (`integrity.py`). Reads that write nothing go through
`reading()`, which takes no writers' lock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterable, Optional

from sqlalchemy import func, literal, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from rlhf.config import Config
from rlhf.errors import LabelerInactive, LabelTooSoon, RLHFError
from rlhf.labeling import migrations
from rlhf.labeling.app_sessions import AppSessions
from rlhf.labeling.engine import prepare_sqlite_file, reading_engine, store_engine
from rlhf.labeling.schema import AssignmentRow, BatchRow, LabelerRow, LabelRow, QueryRow, as_utc, utcnow
from rlhf.labeling.store_claims import SamplingClaims
from rlhf.labeling.store_comparisons import ComparisonProgress, Comparisons  # noqa: F401 (ComparisonProgress: part of the API)
from rlhf.labeling.store_gold import GoldQuestions, unseen_gold
from rlhf.labeling.store_labelers import SIMULATED_PREFIX, Labeler, Labelers  # noqa: F401 (part of the store's API)
from rlhf.labeling.store_places import is_person, open_batches, places_taken, take_place
from rlhf.labeling.store_queries import LabelQueries
from rlhf.run.layout import RunLayout, sqlite_url

# What a store raises when its database fails (a bad URL, a server that refuses, a failed query), so
# that callers catch it without knowing SQLAlchemy.
DatabaseError = SQLAlchemyError


@dataclass
class Assignment:
    """What a labeler sees: the prompt and the samples in the order chosen for them."""

    batch_id: int
    query_id: str
    prompt: str
    samples: list[str]  # in STORED order; show them as [samples[i] for i in shown_order]
    shown_order: list[int]
    assigned_at: Optional[datetime] = None  # when it was handed out (an open one: first shown), UTC

    @property
    def shown(self) -> list[str]:
        return [self.samples[i] for i in self.shown_order]


@dataclass
class Progress:
    done: int
    available: int  # done + what this labeler can still be given
    labels_per_hour: Optional[float]


class LabelStore(LabelQueries, SamplingClaims, AppSessions, Comparisons, GoldQuestions, Labelers):
    def __init__(self, url: str):
        self.url = url
        prepare_sqlite_file(url)  # SQLite: a damaged or empty file is refused, a new one made whole
        self.engine = store_engine(url)
        try:
            migrations.upgrade(self.engine)  # creates a new store, migrates an older one; a no-op when current
        except BaseException:
            self.engine.dispose()
            raise
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        self._reading = sessionmaker(reading_engine(self.engine), expire_on_commit=False)

    @classmethod
    def for_run(cls, run_dir: str | Path, url: Optional[str] = None) -> "LabelStore":
        if url:
            return cls(url)
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        return cls(sqlite_url(RunLayout(Path(run_dir)).label_store))

    def session(self) -> Session:
        return self._session()

    def reading(self) -> Session:
        """A session that writes nothing: it reads one snapshot of the store without taking the lock that
        writers take (engine.py), so neither waits for the other. Long reads (the dashboard's labels, exports)
        no longer hold up labeling, and the labeling page's own reads (its labeler, its progress) no longer
        queue behind other labelers' writes."""
        return self._reading()

    # -- queries and sample batches -------------------------------------------------------------

    def add_queries(self, rows: Iterable[dict]) -> int:
        """Insert queries not yet stored (by id); returns how many were new."""
        rows = list(rows)
        with self.session() as s, s.begin():
            known = set(s.scalars(select(QueryRow.id).where(QueryRow.id.in_([r["id"] for r in rows]))))
            new = [QueryRow(**r) for r in rows if r["id"] not in known]
            s.add_all(new)
        return len(new)

    def add_batch(self, query_id: str, samples: list[str], policy: str, round: int = 0, settings: Optional[dict] = None,
                  seed: int = 0, sample_token_ids: Optional[list] = None) -> int:
        with self.session() as s, s.begin():
            if s.get(QueryRow, query_id) is None:
                raise RLHFError(f"unknown query id {query_id!r}: add the query before its samples")
            row = BatchRow(query_id=query_id, samples=list(samples), policy=policy, round=round,
                           settings=settings or {}, seed=seed, sample_token_ids=sample_token_ids)
            s.add(row)
            s.flush()
            return row.id

    def count_batches(self) -> int:
        with self.session() as s:
            return s.scalar(select(func.count(BatchRow.id)))

    def batch(self, batch_id: int) -> Optional[BatchRow]:
        with self.session() as s:
            return s.get(BatchRow, batch_id)

    def query(self, query_id: str) -> Optional[QueryRow]:
        with self.session() as s:
            return s.get(QueryRow, query_id)

    # -- assignments ----------------------------------------------------------------------------

    def next_assignment(self, labeler_id: int, labelers_per_batch: int = 1, rng: Optional[random.Random] = None,
                        count_machines: bool = True, gold_rate: float = 0.0) -> Optional[Assignment]:
        """The labeler's open assignment, else a new one: a batch they have never had that fewer
        than `labelers_per_batch` labelers hold, oldest first, shown in a fresh random order.
        Without `count_machines`, people and imported or simulated labelers hold places apart.
        With probability `gold_rate`, a gold batch they have never had instead (`store_gold.py`)."""
        rng = rng or random.Random()
        with self.reading() as s:
            open_row = s.scalar(select(AssignmentRow).where(AssignmentRow.labeler_id == labeler_id,
                                                            AssignmentRow.done.is_(False)).order_by(AssignmentRow.id))
            if open_row is not None:
                return _assignment(s, open_row)
        gold_first = gold_rate > 0 and rng.random() < gold_rate  # no draw without gold: seeded runs repeat as before
        for _ in range(20):  # a concurrent labeler may take the last place first: try the next batch
            with self.session() as s:
                person = is_person(s, labeler_id)
                batch_id, capped = _pick_batch(s, labeler_id, labelers_per_batch, count_machines, person, gold_rate,
                                               gold_first, rng)
                if batch_id is None:
                    return None
                batch = s.get(BatchRow, batch_id)
                n = len(batch.samples)
                row = AssignmentRow(batch_id=batch_id, labeler_id=labeler_id, shown_order=rng.sample(range(n), n))
                s.add(row)
                take_place(batch, person)
                s.flush()
                if not capped or places_taken(batch, person, count_machines) <= labelers_per_batch:
                    assignment = _assignment(s, row)
                    s.commit()
                    return assignment
                s.rollback()
        return None

    # -- labels ---------------------------------------------------------------------------------

    def submit(self, labeler_id: int, batch_id: int, *, choice: Optional[int] = None, shown_order: Optional[list] = None,
               seconds: Optional[float] = None, skipped: bool = False, flagged: bool = False, reason: Optional[str] = None,
               client_token: Optional[str] = None, supersedes: Optional[int] = None,
               created_at: Optional[datetime] = None, min_seconds: Optional[float] = None) -> int:
        """Store a label (choice = index in the STORED order) and close the assignment; returns its id.

        A label with a `client_token` already stored is not stored again: its id is returned.
        `min_seconds`: refuse (LabelTooSoon) a label on an open assignment handed out less than this long ago.
        """
        try:
            return self._insert_label(labeler_id, batch_id, choice, shown_order, seconds, skipped, flagged, reason,
                                      client_token, supersedes, created_at, min_seconds)
        except IntegrityError as exc:
            # Two submissions of one token raced, a label was corrected twice, or an id names nothing.
            existing = self.label_for_token(client_token) if client_token else None
            if existing is not None:
                return existing
            if supersedes is not None and self._is_superseded(supersedes):
                raise RLHFError(f"label {supersedes} has already been corrected") from None
            raise RLHFError(f"the label could not be stored: {str(exc.orig).splitlines()[0]} "
                            f"(labeler {labeler_id}, batch {batch_id})") from None

    def _insert_label(self, labeler_id, batch_id, choice, shown_order, seconds, skipped, flagged, reason,
                      client_token, supersedes, created_at=None, min_seconds=None) -> int:
        with self.session() as s, s.begin():
            # In the same transaction as the insert (one fewer on the labeling page's path).
            existing = s.scalar(select(LabelRow.id).where(LabelRow.client_token == client_token)) if client_token else None
            if existing is not None:
                return existing
            batch = s.get(BatchRow, batch_id)
            _check_label(batch, batch_id, choice, shown_order, skipped, flagged)
            labeler = s.get(LabelerRow, labeler_id)
            _check_active(labeler)
            if min_seconds:
                _check_reading_time(s, batch_id, labeler_id, min_seconds)
            row = LabelRow(batch_id=batch_id, labeler_id=labeler_id, choice=choice, shown_order=shown_order,
                           seconds=seconds, skipped=skipped, flagged=flagged, reason=reason,
                           client_token=client_token, supersedes=supersedes, created_at=created_at or utcnow())
            s.add(row)
            assignment = s.scalar(select(AssignmentRow).where(AssignmentRow.batch_id == batch_id,
                                                              AssignmentRow.labeler_id == labeler_id))
            if assignment is None:
                s.add(AssignmentRow(batch_id=batch_id, labeler_id=labeler_id, shown_order=shown_order or
                                    list(range(len(batch.samples))), done=True))
                take_place(batch, labeler is not None and labeler.password_hash is not None)
            else:
                if assignment.done and supersedes is None:
                    # A second label of the same item (another tab, a stale page): keep the first.
                    raise RLHFError(f"batch {batch_id} is already labeled by this labeler; correct that label instead")
                assignment.done = True
            s.flush()
            return row.id

    def _is_superseded(self, label_id: int) -> bool:
        with self.session() as s:
            return s.scalar(select(LabelRow.id).where(LabelRow.supersedes == label_id)) is not None

    def label_for_token(self, token: str) -> Optional[int]:
        """The id of the label stored with this client token, else None."""
        with self.reading() as s:
            return s.scalar(select(LabelRow.id).where(LabelRow.client_token == token))

    def correct(self, label_id: int, **changes) -> int:
        """A new label replacing `label_id` (which stays stored); returns the new id."""
        with self.session() as s:
            old = s.get(LabelRow, label_id)
            if old is None:
                raise RLHFError(f"unknown label id {label_id}")
            fields = {k: getattr(old, k) for k in ("choice", "shown_order", "seconds", "skipped", "flagged", "reason")}
        fields.update(changes)
        return self.submit(old.labeler_id, old.batch_id, supersedes=label_id, **fields)

    def labels(self, effective: bool = True) -> list[LabelRow]:
        """Labels in id order; with `effective`, only those no correction supersedes."""
        with self.session() as s:
            stmt = select(LabelRow).order_by(LabelRow.id)
            if effective:
                replaced = select(LabelRow.supersedes).where(LabelRow.supersedes.is_not(None))
                stmt = stmt.where(LabelRow.id.not_in(replaced))
            return list(s.scalars(stmt))

    def progress(self, labeler_id: int, labelers_per_batch: int = 1, count_machines: bool = True,
                 gold_rate: float = 0.0) -> Progress:
        """Done, available and labels per hour. With `gold_rate`, the gold batches the labeler has not had
        count as available from the start, so handing one out changes nothing on the page."""
        count = lambda stmt: select(func.count()).select_from(stmt.subquery()).scalar_subquery()
        mine = select(AssignmentRow.id).where(AssignmentRow.labeler_id == labeler_id)
        with self.reading() as s:
            ordinary = open_batches(labeler_id, labelers_per_batch, count_machines, is_person(s, labeler_id))
            figures = [count(mine.where(AssignmentRow.done.is_(True))), count(mine.where(AssignmentRow.done.is_(False))),
                       count(ordinary), count(unseen_gold(labeler_id)) if gold_rate > 0 else literal(0),
                       count(select(LabelRow.id).where(LabelRow.labeler_id == labeler_id,
                                                       LabelRow.created_at >= utcnow() - timedelta(hours=1))),
                       count(select(LabelRow.seconds).where(LabelRow.labeler_id == labeler_id, LabelRow.seconds.is_not(None))),
                       select(func.sum(LabelRow.seconds)).where(LabelRow.labeler_id == labeler_id).scalar_subquery()]
            # One statement (one round trip to a server) for all the figures of the labeling page's bar.
            done, open_now, remaining, gold, recent, timed, seconds = s.execute(select(*figures)).one()
        # The rate while labeling: timed labels over the seconds they took (untimed ones have no duration).
        rate = 3600.0 * timed / seconds if seconds else (float(recent) if recent else None)
        return Progress(done=done, available=done + open_now + remaining + gold, labels_per_hour=rate)


def _pick_batch(s: Session, labeler_id: int, labelers_per_batch: int, count_machines: bool, person: bool,
                gold_rate: float, gold_first: bool, rng: random.Random) -> tuple[Optional[int], bool]:
    """(batch id or None, whether labelers_per_batch caps it). A gold batch the labeler never had, at
    random, when `gold_first`; else the oldest open ordinary batch. With gold_rate > 0 the gold batches
    left come last, once nothing else is: `progress` counts them as available from the start."""
    gold = list(s.scalars(unseen_gold(labeler_id))) if gold_rate > 0 else []
    if gold and gold_first:
        return rng.choice(gold), False
    # The oldest as min(id + 0), not ORDER BY id LIMIT 1: for that, SQLite walks every batch from the oldest, the
    # full ones first (there is no telling that the open ones are the newest); the expression makes the database read
    # the few open batches through the holder counters' index, then take the smallest id.
    oldest = open_batches(labeler_id, labelers_per_batch, count_machines, person).with_only_columns(func.min(BatchRow.id + 0))
    batch_id = s.scalar(oldest)
    if batch_id is not None:
        return batch_id, True
    return (rng.choice(gold), False) if gold else (None, False)




def _check_active(labeler: Optional[LabelerRow]) -> None:
    if labeler is not None and not labeler.active:  # an unknown id is the foreign key's to refuse
        raise LabelerInactive(f"labeler {labeler.name!r} has been deactivated: their labels are no longer taken")


def _assignment(s: Session, row: AssignmentRow) -> Assignment:
    batch = s.get(BatchRow, row.batch_id)
    query = s.get(QueryRow, batch.query_id)
    shown = as_utc(row.assigned_at) if row.assigned_at is not None else None
    return Assignment(batch.id, query.id, query.prompt, list(batch.samples), list(row.shown_order), shown)


def _check_label(batch, batch_id, choice, shown_order, skipped, flagged) -> None:
    if batch is None:
        raise RLHFError(f"unknown batch id {batch_id}")
    n = len(batch.samples)
    if choice is None and not (skipped or flagged):
        raise RLHFError("a label needs a choice unless it is skipped or flagged")
    if choice is not None and not 0 <= choice < n:
        raise RLHFError(f"choice {choice} is out of range: batch {batch_id} has {n} samples (0 to {n - 1})")
    if shown_order is not None and sorted(shown_order) != list(range(n)):
        raise RLHFError(f"shown_order {shown_order} is not an ordering of the {n} samples")


def open_store(config: Config) -> LabelStore:
    """The run's label store (labeling.database_url, else the run's SQLite file), created when new."""
    return LabelStore.for_run(config.run_dir, config.labeling.database_url)


def existing_store(config: Config, what_to_do: str) -> LabelStore:
    """The run's label store; refused before anything is created when the run has none yet."""
    if not config.has_label_store():
        raise RLHFError(f"run '{config.name}' has no label store yet ({config.layout.label_store}): {what_to_do}")
    return open_store(config)


def _check_reading_time(s: Session, batch_id: int, labeler_id: int, min_seconds: float) -> None:
    """Refuse a choice on an item handed out less than `min_seconds` ago: the second click of a double
    click lands on the next item, which its labeler has not read."""
    assignment = s.scalar(select(AssignmentRow).where(AssignmentRow.batch_id == batch_id,
                                                      AssignmentRow.labeler_id == labeler_id))
    if assignment is None or assignment.done:
        return
    elapsed = (utcnow() - as_utc(assignment.assigned_at)).total_seconds()
    if elapsed < min_seconds:
        raise LabelTooSoon(f"batch {batch_id} was shown {elapsed:.2f} s ago, less than labeling.min_seconds "
                           f"= {min_seconds:g}: not stored")
