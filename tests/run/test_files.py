import os

import pytest

from rlhf.errors import RLHFError
from rlhf.run.files import atomic_path, check_writable, write_jsonl, write_text


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary(tmp_path):
    target = tmp_path / "out" / "a.txt"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_finished_artifacts_are_not_overwritten_unless_asked(tmp_path):
    target = write_text(tmp_path / "a.txt", "first")
    with pytest.raises(RLHFError, match="already exists"):
        write_text(target, "second", overwrite=False)
    assert target.read_text() == "first"
    write_jsonl(target, [{"x": 1}, {"y": "é"}])
    assert target.read_text(encoding="utf-8") == '{"x": 1}\n{"y": "é"}\n'


def test_check_writable_accepts_new_paths_and_refuses_what_could_not_be_written(tmp_path):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "folder").mkdir()
    assert check_writable(tmp_path / "new" / "deeper" / "out.jsonl", "--output")  # made when written
    assert check_writable(tmp_path / "folder", "--out", folder=True)
    with pytest.raises(RLHFError, match=r"--output .*folder is a folder: name a file"):
        check_writable(tmp_path / "folder", "--output")
    with pytest.raises(RLHFError, match=r"--out .*afile is a file, not a folder: choose another path"):
        check_writable(tmp_path / "afile", "--out", folder=True)
    with pytest.raises(RLHFError, match=r"cannot be written: .*afile is a file, not a folder; choose another path"):
        check_writable(tmp_path / "afile" / "a" / "b.jsonl", "--output")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "folder"]  # the check itself writes nothing


def test_check_writable_refuses_a_folder_without_write_permission(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("chmod 0o500 does not stop this user writing (root); the parent-is-a-file cases cover the refusal")
        with pytest.raises(RLHFError, match=r"no permission to write in .*locked; choose another path, or make"):
            check_writable(locked / "out.jsonl", "--output")
    finally:
        locked.chmod(0o700)
