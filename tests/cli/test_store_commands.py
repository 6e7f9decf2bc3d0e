"""`rlhf store check` and `rlhf store backup`, and restoring a damaged store from a backup."""

from __future__ import annotations

import re
import shutil

from conftest import write
from store_damage import scribbled_page, small_store

from rlhf.labeling.store import LabelStore, sqlite_url


def config_file(tmp_path, database_url=None):
    url = f"\nlabeling: {{database_url: '{database_url}'}}" if database_url else ""
    return write(tmp_path / "c.yaml", f"name: lab\noutput_dir: {tmp_path / 'runs'}\ntask: sentiment{url}\n")


def counts(out: str) -> dict[str, int]:
    return {m[1]: int(m[2]) for m in re.finditer(r"^  (\w[\w ]*?) +(\d+)$", out, re.M)}


def test_check_runs_the_integrity_check_and_counts(cli, tmp_path):
    config = config_file(tmp_path)
    code, _, err = cli("store", "check", "--config", config)
    assert code == 1 and "run 'lab' has no label store yet" in err
    small_store(tmp_path / "runs" / "lab" / "labels.db", labels=12)
    code, out, err = cli("store", "check", "--config", config)
    assert code == 0, err
    assert out.startswith("ok: ") and "integrity_check found no problem" in out
    assert counts(out) == {"queries": 12, "sample batches": 12, "labelers": 1, "labels": 12, "comparisons": 0,
                           "sampling claims": 0, "gold batches": 0, "effective labels": 12}


def test_back_up_damage_restore_and_every_label_is_back(cli, tmp_path):
    config = config_file(tmp_path)
    store_path = tmp_path / "runs" / "lab" / "labels.db"
    labels = small_store(store_path, labels=40)
    code, out, err = cli("store", "backup", "--config", config, "--out", tmp_path / "safe" / "labels-backup.db")
    assert code == 0 and "backed up" in err and counts(out)["labels"] == 40, err
    assert sorted(p.name for p in (tmp_path / "safe").iterdir()) == ["labels-backup.db"]  # no temporary file left

    scribbled_page(store_path)
    code, _, err = cli("labelers", "list", "--config", config)
    assert code == 4 and "is damaged" in err and "Traceback" not in err
    code, _, err = cli("store", "check", "--config", config)
    assert code == 4 and "is damaged" in err

    # The restore README.md describes: nothing uses the store; the backup over labels.db, its -wal and -shm deleted.
    shutil.copyfile(tmp_path / "safe" / "labels-backup.db", store_path)
    for side in ("labels.db-wal", "labels.db-shm"):
        (store_path.parent / side).unlink(missing_ok=True)
    code, out, err = cli("store", "check", "--config", config)
    assert code == 0 and counts(out)["labels"] == 40, err
    restored = LabelStore(sqlite_url(store_path))
    assert [(l.batch_id, l.choice) for l in restored.labels()] == labels
    restored.engine.dispose()


def test_a_backup_holds_what_is_still_in_the_wal_and_never_overwrites(cli, tmp_path):
    config = config_file(tmp_path)
    store_path = tmp_path / "runs" / "lab" / "labels.db"
    small_store(store_path, labels=5)
    store = LabelStore(sqlite_url(store_path))  # open while the backup runs: its last label is in labels.db-wal
    store.ensure_labeler("late")
    code, out, err = cli("store", "backup", "--config", config)
    assert code == 0, err
    [backup] = (tmp_path / "runs" / "lab" / "backups").iterdir()
    assert re.fullmatch(r"labels-\d{8}T\d{6}Z\.db", backup.name)
    copy = LabelStore(sqlite_url(backup))
    assert [l.name for l in copy.labelers()] == ["ann", "late"]
    copy.engine.dispose()
    store.engine.dispose()
    before = backup.read_bytes()
    code, _, err = cli("store", "backup", "--config", config, "--out", backup)
    assert code == 1 and "already exists" in err and backup.read_bytes() == before


def test_on_postgresql_or_sqlite_check_works_and_backup_names_the_tool(cli, tmp_path, store_url):
    config = config_file(tmp_path, store_url)
    LabelStore(store_url).engine.dispose()  # a store made by another command
    code, out, err = cli("store", "check", "--config", config)
    assert code == 0 and counts(out)["labels"] == 0, err
    code, out, err = cli("store", "backup", "--config", config, "--out", tmp_path / "b.db")
    if store_url.startswith("sqlite"):
        assert code == 0 and (tmp_path / "b.db").is_file(), err
    else:
        assert code == 1 and "pg_dump" in err and "rlhf_test:rlhf_test" not in err  # the password stays masked
        assert not (tmp_path / "b.db").exists()
