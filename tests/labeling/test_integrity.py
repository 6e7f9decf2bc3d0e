"""The SQLite store's check on opening: damaged and empty files refused unwritten, new stores made whole."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest
from store_damage import DAMAGE, PAGE, REASON, small_store

from rlhf.errors import StoreDamaged
from rlhf.labeling import integrity
from rlhf.labeling.store import LabelStore, sqlite_url


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_store_is_refused_with_one_line_and_left_as_it_was(tmp_path, damage):
    path = tmp_path / "labels.db"
    small_store(path)
    DAMAGE[damage](path)
    before = digest(path)
    with pytest.raises(StoreDamaged) as refused:
        LabelStore(sqlite_url(path))
    message = str(refused.value)
    assert "\n" not in message and REASON[damage] in message
    assert f"the label store {path} " in message and "`rlhf store backup`" in message and "move it away" in message
    assert refused.value.exit_code == 4
    assert digest(path) == before  # read-only: not a byte written into it


def test_a_store_cut_short_says_so(tmp_path):
    path = tmp_path / "labels.db"
    small_store(path)
    DAMAGE["truncated"](path)
    with pytest.raises(StoreDamaged, match=r"its header says \d+: it was cut short"):
        LabelStore(sqlite_url(path))


def test_a_new_store_appears_whole_never_empty(tmp_path, monkeypatch):
    """While a new store is built the target name does not exist, so an empty labels.db is never one being made."""
    path = tmp_path / "labels.db"
    seen = []
    build = integrity.create_whole

    def watching(target, make):
        return build(target, lambda tmp: (seen.append((tmp.parent == target.parent, target.exists())), make(tmp)))

    monkeypatch.setattr("rlhf.labeling.engine.create_whole", watching)
    store = LabelStore(sqlite_url(path))
    store.add_queries([{"id": "q", "task": "t", "prompt": "p"}])
    store.engine.dispose()
    assert seen == [(True, False)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.db"]  # no temporary file, no WAL left behind
    integrity.check_sqlite_file(path, full=True)
    assert LabelStore(sqlite_url(path)).query("q").prompt == "p"


def test_an_emptied_store_is_refused_but_a_missing_one_is_made(tmp_path):
    path = tmp_path / "labels.db"
    store = LabelStore(sqlite_url(path))
    assert path.stat().st_size > 0
    store.engine.dispose()
    path.write_bytes(b"")
    with pytest.raises(StoreDamaged, match="is empty"):
        LabelStore(sqlite_url(path))
    path.unlink()
    LabelStore(sqlite_url(path)).engine.dispose()


def test_damage_found_after_opening_is_one_error_too(tmp_path):
    """A file damaged under a running process: the store's queries raise StoreDamaged, not SQLAlchemy's error."""
    path = tmp_path / "labels.db"
    small_store(path)
    store = LabelStore(sqlite_url(path))
    store.engine.dispose()  # the next query opens a new connection on the damaged file
    size = path.stat().st_size
    with open(path, "r+b") as f:  # every page but the first (the schema) overwritten
        f.seek(PAGE)
        f.write(random.Random(1).randbytes(size - PAGE))
    with pytest.raises(StoreDamaged, match="is damaged"):
        store.labels()
