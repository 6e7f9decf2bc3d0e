"""Schema migrations of the label store (Alembic), configured in code: no alembic.ini is needed.

`LabelStore(url)` calls `upgrade(engine)` on open: one transaction reads the store's revision and,
unless it is already the newest, migrates it there. A store made before migrations existed (tables
but no alembic_version table) is stamped with the baseline revision "0001" first; its rows stay.

To change the schema: edit `rlhf/labeling/schema.py`, then run

    python -m rlhf.labeling.migrations revision "what changed"

which writes `versions/NNNN_what_changed.py` from the difference between the models and a scratch
SQLite store at the current head (review it: autogenerate misses renames). Other commands:
`python -m rlhf.labeling.migrations current URL`, `upgrade URL`, `sql URL` (print the SQL for a DBA).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Optional

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from rlhf.errors import RLHFError

MIGRATIONS_DIR = Path(__file__).resolve().parent
# The schema `Base.metadata.create_all` made before migrations: stores without alembic_version have it.
BASELINE = "0001"
BASELINE_TABLES = ("queries", "labelers", "sample_batches", "assignments", "labels", "comparisons")
_PG_LOCK_KEY = 0x726C6866  # 'rlhf': a transaction-scoped advisory lock serialises concurrent upgrades


def alembic_config(connection: Optional[Connection] = None, url: Optional[str] = None):
    """An Alembic Config for this package's migrations, on an open connection or a URL."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")  # Alembic >= 1.16 asks for one
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


@functools.lru_cache(maxsize=None)
def _scripts():
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    return _scripts().get_current_head()


@functools.lru_cache(maxsize=None)
def known_revisions() -> frozenset:
    return frozenset(script.revision for script in _scripts().walk_revisions())


def current_revision(connection: Connection) -> Optional[str]:
    """The store's revision; None without an alembic_version table (an empty or pre-migration store)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, target: str = "head") -> None:
    """Migrate the store to `target` (the newest revision by default); a no-op when it is there.

    On SQLite the transaction starts with BEGIN IMMEDIATE (the store's listener) and on PostgreSQL
    it takes an advisory lock, so two processes opening a new store at once migrate it once.
    """
    head = head_revision() if target == "head" else target
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations copy tables; foreign keys are checked once at the end instead. The
            # pragma is a no-op inside a transaction, so it is set before BEGIN on the raw connection.
            _sqlite_foreign_keys(conn, False)
        try:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
                current = current_revision(conn)
                if current == head:
                    return
                if current is not None and current not in known_revisions():
                    raise RLHFError(f"the label store's schema is at revision {current}, which this version of rlhf "
                                    f"does not know (its newest is {head_revision()}): the store was opened by a "
                                    "newer rlhf; upgrade rlhf")
                from alembic import command

                config = alembic_config(conn)
                if current is None and _stamp_baseline(conn):
                    command.stamp(config, BASELINE)
                command.upgrade(config, target)
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RLHFError(f"a migration left rows whose foreign keys name nothing: {broken[:5]}")
        finally:
            if sqlite:
                _sqlite_foreign_keys(conn, True)


def _stamp_baseline(conn: Connection) -> bool:
    """True for a store made by create_all before migrations (all baseline tables, no alembic_version)."""
    tables = set(inspect(conn).get_table_names())
    present = [t for t in BASELINE_TABLES if t in tables]
    if not present:
        return False
    if len(present) < len(BASELINE_TABLES):
        missing = ", ".join(t for t in BASELINE_TABLES if t not in tables)
        raise RLHFError(f"the label store has some of its tables but not {missing}, and no alembic_version "
                        f"table: it was not made by rlhf, or only partly; use an empty database")
    return True


def _sqlite_foreign_keys(conn: Connection, on: bool) -> None:
    conn.connection.dbapi_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
