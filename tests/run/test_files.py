import pytest

from rlhf.errors import RLHFError
from rlhf.run.files import atomic_path, write_jsonl, write_text


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
