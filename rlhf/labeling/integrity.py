"""A damaged SQLite label store is refused before anything reads or writes it; a new one is made whole.

Why: a labels.db cut short, with random bytes over a page, with its header overwritten, or a text
file in its place failed deep inside SQLAlchemy (a 120-line traceback), after `rlhf sample` had
already written config.yaml. And SQLite takes a 0-byte file for a new, empty database, so a store
truncated to nothing was silently a new one (`rlhf export` wrote empty files and exited 0).

- `check_sqlite_file` opens the file read-only, so nothing is written into it whatever its state
  (SQLite may leave an empty -wal and -shm beside a WAL-mode file), and runs `PRAGMA quick_check`:
  the structure of every page, not whether each index matches its table (`full=True`:
  `integrity_check`, which does). bench/store_check.py measures what it costs.
- `create_whole` builds a new store under a temporary name beside the target and links it into
  place complete. So a 0-byte labels.db is never a store that rlhf is making (another process
  opening the same new store sees no file or a whole one), and it is refused like a damaged one.
"""

from __future__ import annotations

import os
import sqlite3
import struct
import threading
import uuid
from contextlib import closing
from pathlib import Path
from typing import Callable, Optional

from rlhf.errors import RLHFError, StoreDamaged

# SQLite's primary result codes for a file that is not a database or whose pages do not parse.
_DAMAGE_CODES = {11: "SQLITE_CORRUPT", 26: "SQLITE_NOTADB"}
_DAMAGE_WORDS = ("malformed", "not a database")  # the same, when the driver gives no code
SIDE_FILES = ("-wal", "-shm", "-journal")
# Alembic's commands run on module-level state: two threads of one process must not build stores at once.
# (When every thread opened the one new file, SQLite's write lock kept them apart.)
_CREATING = threading.Lock()


def is_damage(error: BaseException) -> bool:
    """Whether an sqlite3 error says the file is damaged (not busy, locked or unreadable)."""
    if not isinstance(error, sqlite3.DatabaseError):
        return False
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _DAMAGE_CODES
    return any(word in str(error) for word in _DAMAGE_WORDS)


def damaged(path: Path, problem: str) -> StoreDamaged:
    """The one-line error for a damaged store: the file, what is wrong, what to do."""
    name = Path(path).name
    return StoreDamaged(f"the label store {path} {problem}; nothing was written. Restore it from a backup "
                        f"(`rlhf store backup` makes one; with nothing using the store, copy the backup over {name} and "
                        f"delete {name}-wal and {name}-shm), or move it away to start a new store")


def check_sqlite_file(path: Path, full: bool = False) -> None:
    """Raise `StoreDamaged` unless the existing file `path` is a sound SQLite database.

    `full`: `PRAGMA integrity_check` (also compares every index with its table) instead of `quick_check`.
    """
    size = path.stat().st_size
    if size == 0:
        raise damaged(path, "is empty (0 bytes): rlhf writes a new store whole, so this file was cut short or made by "
                            "something else")
    problem = _sqlite_problem(path, "integrity_check" if full else "quick_check")
    if problem is not None:
        raise damaged(path, f"is damaged ({problem}{_truncation_hint(path, size)})")


def _sqlite_problem(path: Path, pragma: str) -> Optional[str]:
    """SQLite's complaint about the file, None when the check says ok."""
    try:
        # mode=ro: a damaged file must not be written into (no journal rollback, no checkpoint on close).
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=60)) as db:
            rows = [row[0] for row in db.execute(f"PRAGMA {pragma}(3)")]  # the first three problems are enough
    except sqlite3.DatabaseError as error:
        if is_damage(error):
            return str(error)
        raise RLHFError(f"cannot read the label store {path}: {error}") from None
    if rows == ["ok"]:
        return None
    return "; ".join(" ".join(row.split()) for row in rows)


def _truncation_hint(path: Path, size: int) -> str:
    """', cut short: ...' when the header promises more pages than the file holds (and no WAL holds them)."""
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return ""  # pages past the end of the file may be in the WAL: the header is not the whole story
    with open(path, "rb") as f:
        header = f.read(100)
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        return ""
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    counter, pages, valid_for = struct.unpack(">I", header[24:28])[0], struct.unpack(">I", header[28:32])[0], struct.unpack(">I", header[92:96])[0]
    expected = pages * page_size
    if counter != valid_for or expected <= size:  # SQLite trusts the page count only when these agree
        return ""
    return f"; the file is {size} bytes, its header says {expected}: it was cut short"


def create_whole(path: Path, build: Callable[[Path], None]) -> None:
    """Make a new store at `path`: `build(tmp)` writes it under a temporary name, then it is linked in.

    `build` must leave no connection open (SQLite then folds the WAL into the file and deletes it).
    When another process made `path` first, its store is kept and ours is dropped.
    """
    with _CREATING:
        if path.exists():
            return  # another thread made it while this one waited
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.new")
        try:
            build(tmp)
            link_into_place(tmp, path)  # False: another process made the store first, and it is kept
        finally:
            remove_with_side_files(tmp)


def link_into_place(tmp: Path, path: Path) -> bool:
    """Give the finished file `tmp` the name `path` unless `path` exists (then False)."""
    try:
        os.link(tmp, path)  # unlike os.replace, fails when `path` exists: never replaces what someone else made
        return True
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: the window between the test and the move is tiny
        if path.exists():
            return False
        os.replace(tmp, path)
        return True


def remove_with_side_files(path: Path) -> None:
    for suffix in ("", *SIDE_FILES):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
