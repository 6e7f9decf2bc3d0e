"""Bad input, a damaged label store: every command that opens one gives one line and writes nothing.

runs/bad/labels.db cut short, a page of random bytes, its header overwritten, a text file in its
place, or emptied to 0 bytes (which SQLite alone takes for a new store): every command that opens
it gives one line naming the file and what to do (restore a backup, or move it away), exit code 4,
and writes nothing - no config.yaml (sample, run), no export, not a byte of the store itself.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from bad_input_fixtures import DATA_ERROR, GOOD, IMPORT, MODEL, SAMPLE, SQLITE_SIDE_FILES, cfg, jsonl, the_error_line
from store_damage import DAMAGE, REASON, small_store

STORE = "runs/bad/labels.db"
DAMAGED_STORE_COMMANDS = {
    "labelers-list": ["labelers", "list", "--config", "c.yaml"],
    "export": ["export", "--config", "c.yaml"],
    "train-reward": ["train-reward", "--config", "c.yaml"],
    "sample": SAMPLE,
}
# Every other command that opens the store, on one kind of damage.
MORE_DAMAGED_STORE_COMMANDS = {
    "store-check": ["store", "check", "--config", "c.yaml"],
    "store-backup": ["store", "backup", "--config", "c.yaml", "--out", "backup.db"],
    "labelers-add": ["labelers", "add", "bob", "--password-stdin", "--config", "c.yaml"],
    "import": IMPORT,
    "label-simulate": ["label", "--config", "c.yaml", "--simulate", "sentiment"],
    "evaluate-human": ["evaluate", "--config", "c.yaml", "--human", "--policy", MODEL],
    "run": ["run", "--config", "c.yaml"],
}
DAMAGED_STORE_CASES = ([(name, damage) for name in DAMAGED_STORE_COMMANDS for damage in DAMAGE]
                       + [(name, "random-page") for name in MORE_DAMAGED_STORE_COMMANDS])


def file_bytes(root: Path) -> dict:
    """Every file under root by content hash, the store included (its -wal and -shm are SQLite's to make)."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.endswith(SQLITE_SIDE_FILES)}


@pytest.mark.parametrize("command, damage", DAMAGED_STORE_CASES, ids=[f"{c}-{d}" for c, d in DAMAGED_STORE_CASES])
def test_a_damaged_store_gives_one_clear_message_and_nothing_is_written(command, damage, cli, tmp_path, tiny_gpt2, monkeypatch):
    import io

    argv = {**DAMAGED_STORE_COMMANDS, **MORE_DAMAGED_STORE_COMMANDS}[command]
    (tmp_path / "c.yaml").write_text(cfg(prompts="{kind: demo, path: stories}").replace(MODEL, str(tiny_gpt2)), encoding="utf-8")
    (tmp_path / "labels.jsonl").write_text(jsonl(GOOD), encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    small_store(tmp_path / STORE)
    DAMAGE[damage](tmp_path / STORE)
    before = file_bytes(tmp_path)

    code, out, err = cli(*[a.replace(MODEL, str(tiny_gpt2)) for a in argv])

    assert "Traceback" not in err + out
    assert code == DATA_ERROR, f"exit {code}, expected {DATA_ERROR}; stderr:\n{err}"
    line = the_error_line(err)
    for needle in (f"the label store {tmp_path / STORE} ", REASON[damage], "`rlhf store backup`", "move it away"):
        assert needle in line, f"{needle!r} not in {line!r}"
    assert file_bytes(tmp_path) == before, "the failed command wrote or changed files"
