"""`rlhf store check` and `rlhf store backup`: is a label store sound and what does it hold; a consistent copy.

A backup uses SQLite's online backup API (the sqlite3 module's `Connection.backup`): it copies the
database inside a read transaction, so labelers may go on labeling meanwhile and the copy is one
consistent state. Copying labels.db with `cp` while the store is in use can miss what is still in
labels.db-wal or catch a page half written. The copy is checked before it is moved into place, and a
backup never overwrites a file. PostgreSQL stores are the server's to back up (pg_dump).
"""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from rlhf.config.secrets import mask_url
from rlhf.errors import RLHFError
from rlhf.labeling import migrations
from rlhf.labeling.engine import BUSY_WAIT_S, sqlite_store_path
from rlhf.labeling.integrity import check_sqlite_file, link_into_place, remove_with_side_files
from rlhf.labeling.store import LabelStore

BACKED_UP_TABLES = ("queries", "sample_batches", "labelers", "labels", "comparisons", "gold_batches")


@dataclass
class CheckReport:
    checked: str  # what was checked, in words
    counts: dict[str, int]


def refuse_damaged(url: str) -> None:
    """Raise `StoreDamaged` when `url` names an existing SQLite store that is damaged or empty.

    For commands that write something (config.yaml) before they open the store.
    """
    path = sqlite_store_path(url)
    if path is not None and path.exists():
        check_sqlite_file(path)


def check_store(url: str) -> CheckReport:
    """The full integrity check of an SQLite store (raises `StoreDamaged`), then what the store holds."""
    path = sqlite_store_path(url)
    if path is not None:
        _must_exist(path)
        check_sqlite_file(path, full=True)
        checked = f"{path}: SQLite's integrity_check found no problem (every page, and every index against its table)"
    else:
        checked = (f"{mask_url(url)}: connected, schema at revision {migrations.head_revision()}; the server checks its own "
                   "pages (data checksums, the amcheck extension)")
    store = LabelStore(url)  # on SQLite also runs the quick check again: a little time for one code path
    try:
        return CheckReport(checked, store.row_counts())
    finally:
        store.engine.dispose()


def default_backup_path(backups: Path) -> Path:
    return backups / f"labels-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.db"


def backup_store(url: str, out: Path) -> dict[str, int]:
    """Copy the SQLite store at `url` to `out` (a new file); returns the copy's rows per table."""
    path = sqlite_store_path(url)
    if path is None:
        raise RLHFError(f"the label store {mask_url(url)} is not an SQLite file: back it up with the server's own tool, "
                        "pg_dump (for example `pg_dump --format=custom --file labels.dump DBNAME`, restored with "
                        "pg_restore); `rlhf store backup` copies SQLite stores only")
    if out.exists():
        raise RLHFError(f"{out} already exists: give another --out (a backup never overwrites a file)")
    _must_exist(path)
    check_sqlite_file(path)  # a damaged store is refused: a copy of it would only look like a backup
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        _copy(path, tmp)
        check_sqlite_file(tmp, full=True)
        counts = _counts(tmp)
        if not link_into_place(tmp, out):
            raise RLHFError(f"{out} appeared while the backup was written: it is kept; give another --out")
        return counts
    finally:
        remove_with_side_files(tmp)


def _must_exist(path: Path) -> None:
    if not path.is_file():
        raise RLHFError(f"there is no label store at {path} yet (`rlhf sample` or `rlhf labelers add` makes one)")


def _copy(path: Path, tmp: Path) -> None:
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=BUSY_WAIT_S)) as source, \
            closing(sqlite3.connect(tmp)) as copy:
        source.backup(copy)
        # One self-contained file (no -wal beside it); a restored store goes back to WAL when it opens.
        copy.execute("PRAGMA journal_mode=DELETE")


def _counts(path: Path) -> dict[str, int]:
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
        return {table: db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in BACKED_UP_TABLES}
