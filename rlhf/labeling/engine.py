"""The label store's database connection: SQLite in WAL mode with a lock wait, or PostgreSQL with one lock per transaction."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Optional

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from rlhf.labeling import migrations
from rlhf.labeling.integrity import check_sqlite_file, create_whole, damaged, is_damage
from rlhf.run.layout import sqlite_url


def store_engine(url: str) -> Engine:
    """An engine whose transactions run one at a time, on SQLite and PostgreSQL alike."""
    # A server may restart under a long-running app: check a pooled connection before using it.
    engine = create_engine(url, future=True, pool_pre_ping=make_url(url).get_backend_name() != "sqlite")
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        # Damage that the check on opening did not see (a file overwritten while a process runs):
        # one clear error instead of SQLAlchemy's traceback.
        path = sqlite_store_path(url)
        event.listen(engine, "handle_error", lambda context: _refuse_damage(context, path))
        # SQLAlchemy's recipe for SQLite: take the write lock at BEGIN, so a transaction that
        # reads then writes (an assignment, a label) never fails to upgrade under a concurrent writer.
        # A long read (`READS_ONLY`) takes none: in WAL mode it reads a snapshot while labels are written.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN" if _reads_only(conn) else "BEGIN IMMEDIATE"))
    elif engine.dialect.name == "postgresql":
        # The same on PostgreSQL: every transaction first takes one advisory lock of this database,
        # so transactions run one at a time as on SQLite, and the read-then-write checks (a batch
        # held by fewer than k labelers, an item not labeled yet) cannot interleave under READ
        # COMMITTED. Waiting is bounded like SQLite's busy_timeout.
        event.listen(engine, "begin", _postgres_store_lock)
    return engine


# The execution option of a transaction that only reads (`LabelStore.reading()`): exports, reward data, the
# dashboard's labels. At 300,000 labels such a read takes seconds (bench/label_scale.py); under the write lock
# every labeler's next item waited for it.
READS_ONLY = "rlhf_reads_only"


def _reads_only(conn) -> bool:
    return bool(conn.get_execution_options().get(READS_ONLY))


def reading_engine(engine: Engine) -> Engine:
    """The engine of the transactions that write nothing (`LabelStore.reading()`): no writers' lock, one snapshot."""
    if engine.dialect.name == "postgresql":
        # psycopg sends these with its BEGIN: no statement (no round trip) of their own.
        return engine.execution_options(**{READS_ONLY: True}, isolation_level="REPEATABLE READ", postgresql_readonly=True)
    return engine.execution_options(**{READS_ONLY: True})


def sqlite_store_path(url: str) -> Optional[Path]:
    """The file an SQLite URL names; None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def prepare_sqlite_file(url: str) -> None:
    """Before an SQLite store is opened: refuse a damaged or empty file; make a missing one whole.

    A new store is built aside, tables and all, and linked into place (`integrity.create_whole`),
    so an empty labels.db is never one being made, and the check may refuse it.
    """
    path = sqlite_store_path(url)
    if path is None:
        return
    if path.exists():
        check_sqlite_file(path)
    else:
        create_whole(path, _build_store)


def _build_store(path: Path) -> None:
    engine = store_engine(sqlite_url(path))
    try:
        migrations.upgrade(engine)
    finally:
        engine.dispose()  # closes every connection: SQLite folds the WAL into the file and deletes it


def missing_sqlite_file(url: str) -> Optional[Path]:
    """The path of the SQLite store file `url` names when that file does not exist yet, else None."""
    path = sqlite_store_path(url)
    return None if path is None or path.exists() else path


def _refuse_damage(context, path: Optional[Path]) -> None:
    if path is not None and is_damage(context.original_exception):
        raise damaged(path, f"is damaged ({context.original_exception})") from None


# How long a writer waits for another's lock. 16 labeler processes on 2 loaded cores (load
# average 10) waited past 10 s now and then ("database is locked"); a labeler would rather wait.
BUSY_WAIT_S = 60


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # let the "begin" listener issue BEGIN itself
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_WAIT_S * 1000}")  # wait for a concurrent writer instead of failing
    cursor.execute("PRAGMA foreign_keys=ON")
    _enable_wal(cursor)
    cursor.close()


def _enable_wal(cursor, wait_s: float = BUSY_WAIT_S) -> None:
    """Put a database in WAL mode; the mode is kept on disk, so for later connections it is a no-op.

    SQLite does not call the busy handler when the switch meets another connection's lock, so
    several connections opening a new database at once (the app's threads, a trainer) get
    "database is locked" at once; retry for as long as busy_timeout would have waited.
    """
    deadline = time.monotonic() + wait_s
    while True:  # an in-memory database answers "memory" and stays so: any answer ends the loop
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


_PG_STORE_LOCK = 0x726C6873  # pg_advisory_xact_lock key of the store's transactions ('rlhs')


def _postgres_store_lock(conn) -> None:
    if _reads_only(conn):  # a snapshot (reading_engine), and no lock: writers go on meanwhile
        return
    # One statement, one round trip: the lock wait's limit for this transaction, then the lock.
    conn.exec_driver_sql(f"SELECT set_config('lock_timeout', '{BUSY_WAIT_S}s', true), pg_advisory_xact_lock({_PG_STORE_LOCK})")
