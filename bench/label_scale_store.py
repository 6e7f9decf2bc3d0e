"""The store of bench/label_scale.py: how its labels split (`Plan`), a bulk build of the rows the app writes,
and the built store kept per backend and size, measured on fresh copies (`SqliteStores`, `PostgresStores`).

Rows go in with SQLAlchemy Core inserts of the project's tables (`rlhf.labeling.schema`), in chunks,
with explicit ids (a correction names the id it supersedes); on PostgreSQL the id sequences are moved
past them after. The store itself is made by `LabelStore`, so it has the newest migration's schema.
"""

from __future__ import annotations

import json
import random
import shutil
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Optional

PASSWORD = "bench-password"
LABELERS_PER_BATCH = 3
SKIP, FLAG, CORRECT = 0.02, 0.005, 0.01  # shares of the labels
CHUNK = 5000  # rows per INSERT while building
BUILD = "v3"  # v3: migration 0007 (holder counters, labeler indexes)
SKIP_REASONS = ["Can't decide: equally good", "Can't decide: equally bad", "I don't understand the text", "Other: dull"]
FLAG_REASONS = ["Offensive or harmful", "Garbled or not a real prompt"]
SETTINGS = {"temperature": 0.7, "top_k": 0, "top_p": 1.0, "max_new_tokens": 24, "num_samples": 4, "batch_size": 16,
            "truncate_token": None, "truncate_after": 0, "has_stop": [False, True, False, False]}
WORDS = ("the rain had not stopped for three days when old man smiled at bright morning everything seemed grey "
         "and hopeless a dog barked somewhere far away we laughed until lamps were lit letter house village").split()


@dataclass(frozen=True)
class Plan:
    """How the labels split: gold answers, corrections, and ordinary labels on the oldest batches."""

    batches: int
    labels: int
    labelers: int
    gold: int

    @classmethod
    def of(cls, args) -> "Plan":
        return cls(args.batches, args.labels, args.labelers, min(args.gold, args.batches // 10))

    @property
    def corrections(self) -> int:
        return round(CORRECT * self.labels)

    @property
    def ordinary(self) -> int:
        return self.labels - self.gold * self.labelers - self.corrections

    @property
    def open_places(self) -> int:
        return (self.batches - self.gold) * LABELERS_PER_BATCH - self.ordinary

    def gold_ids(self) -> set[int]:
        step = self.batches // self.gold if self.gold else 0
        return {step // 2 + i * step + 1 for i in range(self.gold)}

    def key(self) -> str:
        """Names the built store: its sizes, and BUILD, which a change to the rows built moves on."""
        return f"{BUILD}-b{self.batches}-l{self.labels}-u{self.labelers}-g{self.gold}"


# -- building the store -------------------------------------------------------------------------------


def text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(WORDS, k=n))


def token_ids(rng: random.Random, n: int) -> list[int]:
    return [rng.randrange(50257) for _ in range(n)]


def label_events(plan: Plan, rng: random.Random) -> list[tuple[int, int]]:
    """(batch id, labeler id) of every first label, in the order they were made: the oldest ordinary batches
    by 3 labelers each, every labeler's gold answers spread among them."""
    gold = plan.gold_ids()
    ordinary = (b for b in range(1, plan.batches + 1) if b not in gold)
    events: list[tuple[int, int]] = []
    while len(events) < plan.ordinary:
        batch = next(ordinary)
        for labeler in rng.sample(range(1, plan.labelers + 1), LABELERS_PER_BATCH)[:plan.ordinary - len(events)]:
            events.append((batch, labeler))
    answers = [(b, labeler) for b in sorted(gold) for labeler in range(1, plan.labelers + 1)]
    at = sorted(rng.randrange(len(events) + 1) for _ in answers)
    for offset, (position, answer) in enumerate(zip(at, rng.sample(answers, len(answers)))):
        events.insert(position + offset, answer)
    return events


def label_rows(plan: Plan, rng: random.Random, start: datetime) -> tuple[list[dict], list[dict]]:
    """Labels and assignments as the app stores them; a correction follows the label it supersedes."""
    events = label_events(plan, rng)
    corrected = set(rng.sample(range(len(events)), plan.corrections))
    labels, assignments = [], []
    step = timedelta(days=60) / max(1, plan.labels)
    for i, (batch, labeler) in enumerate(events):
        order = rng.sample(range(4), 4)
        row = {"id": len(labels) + 1, "batch_id": batch, "labeler_id": labeler, "choice": rng.randrange(4),
               "shown_order": order, "seconds": round(rng.lognormvariate(2.0, 0.6), 3), "skipped": False, "flagged": False,
               "reason": None, "supersedes": None, "client_token": uuid.UUID(int=rng.getrandbits(128)).hex,
               "created_at": start + len(labels) * step}
        draw = rng.random()
        if draw < SKIP and i not in corrected:
            row.update(choice=None, skipped=True, reason=rng.choice(SKIP_REASONS))
        elif draw < SKIP + FLAG and i not in corrected:
            row.update(choice=None, flagged=True, reason=rng.choice(FLAG_REASONS))
        labels.append(row)
        assignments.append({"id": len(assignments) + 1, "batch_id": batch, "labeler_id": labeler, "shown_order": order,
                            "assigned_at": row["created_at"] - timedelta(seconds=row["seconds"]), "done": True})
        if i in corrected:  # LabelStore.correct: the old row's fields, a new choice, no client token
            labels.append({**row, "id": len(labels) + 1, "choice": (row["choice"] + 1) % 4, "supersedes": row["id"],
                           "client_token": None, "created_at": start + len(labels) * step})
    return labels, assignments


def batch_rows(first: int, last: int, rng: random.Random, start: datetime, holders: Counter) -> tuple[list[dict], list[dict]]:
    """Queries and their batches; `holders`: each batch's assignments (all by people, who have passwords)."""
    queries = [{"id": f"q{i:06d}", "task": "sentiment", "prompt": text(rng, 48), "reference": None, "split": "train",
                "token_ids": token_ids(rng, 64), "created_at": start + timedelta(seconds=i)} for i in range(first, last + 1)]
    batches = [{"id": i, "query_id": f"q{i:06d}", "samples": [text(rng, 18) for _ in range(4)],
                "sample_token_ids": [token_ids(rng, 24) for _ in range(4)], "policy": "smollm2-135m", "round": 0,
                "settings": {**SETTINGS, "seed": i}, "seed": i, "created_at": start + timedelta(seconds=i),
                "held_by_people": holders[i], "held_by_machines": 0}
               for i in range(first, last + 1)]
    return queries, batches


def build_store(url: str, plan: Plan, log) -> None:
    """Fill an empty store at `url` (made at the newest migration) with the plan's rows."""
    from sqlalchemy import insert

    from rlhf.labeling import passwords
    from rlhf.labeling.schema import AssignmentRow, BatchRow, GoldRow, LabelerRow, LabelRow, QueryRow
    from rlhf.labeling.store import LabelStore

    store = LabelStore(url)
    rng, start = random.Random(0), datetime(2026, 9, 1, tzinfo=timezone.utc)
    hashed = passwords.hash_password(PASSWORD)  # one hash for all: Argon2 is slow on purpose
    with store.engine.begin() as conn:
        conn.execute(insert(LabelerRow), [{"id": i, "name": labeler_name(i), "password_hash": hashed,
                                           "role": "admin" if i == 1 else "labeler", "created_at": start}
                                          for i in range(1, plan.labelers + 1)])
    labels, assignments = label_rows(plan, random.Random(1), start + timedelta(days=1))
    holders = Counter(row["batch_id"] for row in assignments)
    for first in range(1, plan.batches + 1, CHUNK):
        queries, batches = batch_rows(first, min(plan.batches, first + CHUNK - 1), rng, start, holders)
        with store.engine.begin() as conn:
            conn.execute(insert(QueryRow), queries)
            conn.execute(insert(BatchRow), batches)
        log(f"  {batches[-1]['id']} batches")
    with store.engine.begin() as conn:
        conn.execute(insert(GoldRow), [{"batch_id": b, "best": rng.randrange(4), "source": "sim:bench", "created_at": start}
                                       for b in sorted(plan.gold_ids())])
    for table, rows in ((AssignmentRow, assignments), (LabelRow, labels)):
        for i in range(0, len(rows), CHUNK):
            with store.engine.begin() as conn:
                conn.execute(insert(table), rows[i:i + CHUNK])
        log(f"  {len(rows)} {table.__tablename__}")
    if store.engine.dialect.name == "postgresql":  # explicit ids leave the sequences behind
        with store.engine.begin() as conn:
            for table in ("labelers", "sample_batches", "assignments", "labels"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            conn.exec_driver_sql("ANALYZE")
    store.engine.dispose()


def labeler_name(i: int) -> str:
    return f"labeler{i:02d}"


# -- the stores: built once per backend and size, measured on a fresh copy -----------------------------


class SqliteStores:
    name = "sqlite"

    def __init__(self, workdir: Path, plan: Plan):
        self.template = workdir / f"sqlite-{plan.key()}.db"

    def template_url(self) -> str:
        from rlhf.run.layout import sqlite_url

        return sqlite_url(self.template)

    def exists(self) -> bool:
        return self.template.exists()

    def drop_template(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.template}{suffix}").unlink(missing_ok=True)

    def fresh_copy(self, run_dir: Path) -> Optional[str]:
        """The copy's URL for the run config (None: the run's own labels.db, where it is copied)."""
        shutil.copyfile(self.template, run_dir / "labels.db")
        for suffix in ("-wal", "-shm"):
            Path(f"{run_dir / 'labels.db'}{suffix}").unlink(missing_ok=True)
        return None

    def drop_copy(self) -> None:
        pass  # in the run folder, which goes with the workdir


class PostgresStores:
    name = "postgres"

    def __init__(self, server_url: str, plan: Plan):
        from sqlalchemy.engine import make_url

        self.server = make_url(server_url)
        self.template_db, self.copy_db = f"label_scale_{plan.key().replace('-', '_')}", "label_scale_run"

    def _admin(self, sql: str, *params):
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        engine = create_engine(self.server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            with engine.connect() as conn:
                return conn.exec_driver_sql(sql, params).fetchall() if sql.startswith("SELECT") else conn.exec_driver_sql(sql)
        finally:
            engine.dispose()

    def _url(self, database: str) -> str:
        return self.server.set(database=database).render_as_string(hide_password=False)

    def template_url(self) -> str:
        if not self.exists():
            self._admin(f'CREATE DATABASE "{self.template_db}"')
        return self._url(self.template_db)

    def exists(self) -> bool:
        return bool(self._admin("SELECT 1 FROM pg_database WHERE datname = %s", self.template_db))

    def drop_template(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.template_db}" WITH (FORCE)')

    def fresh_copy(self, run_dir: Path) -> Optional[str]:
        self._admin(f'DROP DATABASE IF EXISTS "{self.copy_db}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{self.copy_db}" TEMPLATE "{self.template_db}"')
        return self._url(self.copy_db)

    def drop_copy(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.copy_db}" WITH (FORCE)')


def built_store(stores, plan: Plan, workdir: Path, log) -> float:
    """Seconds the backend's store of this size took to build: now, or when an earlier run built it."""
    from rlhf.labeling.store import LabelStore

    marker = workdir / f"{stores.name}-{plan.key()}.json"
    if marker.exists() and stores.exists():
        log(f"{stores.name}: reusing the store built earlier ({marker})")
        LabelStore(stores.template_url()).engine.dispose()  # brings it to the newest migration
        return json.loads(marker.read_text())["build_s"]
    stores.drop_template()  # half built by a run that was stopped, or never
    log(f"{stores.name}: building {plan.batches} batches and {plan.labels} labels from {plan.labelers} labelers")
    started = time.perf_counter()
    build_store(stores.template_url(), plan, log)
    seconds = time.perf_counter() - started
    marker.write_text(json.dumps({"build_s": seconds, "plan": asdict(plan)}))
    return seconds


