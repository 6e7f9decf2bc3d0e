"""Label files are read with bounded memory: a long line, a huge JSON list, a pipe or a device is one clear error."""

import json
import os
import threading
import tracemalloc

import pytest

from rlhf.errors import DataError
from rlhf.labeling import label_files
from rlhf.labeling.label_files import json_records

GOOD = {"query": "Once upon a time.", "sample0": " a", "sample1": " b", "best": 1}


def records(path):
    return list(json_records(path))


def test_jsonl_and_json_lists_give_the_same_records(tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps(GOOD) + "\n\n" + json.dumps(GOOD) + "\n")
    (tmp_path / "a.json").write_text(json.dumps([GOOD, GOOD]))
    lines, items = records(tmp_path / "a.jsonl"), records(tmp_path / "a.json")
    assert [obj for _, obj in lines] == [obj for _, obj in items] == [GOOD, GOOD]
    assert [where for where, _ in lines] == [f"{tmp_path / 'a.jsonl'}, line 1", f"{tmp_path / 'a.jsonl'}, line 3"]
    assert items[1][0] == f"{tmp_path / 'a.json'}, record 2"


def test_a_line_without_end_is_refused_after_reading_only_the_limit(tmp_path):
    path = tmp_path / "labels.jsonl"
    path.write_bytes(json.dumps(GOOD).encode() + b"\n" + b"x" * 30_000_000)  # 30 MB with no line break
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"labels.jsonl, line 2: longer than 1,000,000 bytes.*nothing was imported"):
            records(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * label_files.MAX_LINE_BYTES  # the line is never held whole (it is 30 times the limit)


def test_a_line_at_the_limit_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(label_files, "MAX_LINE_BYTES", 100)
    line = json.dumps(GOOD).ljust(100)
    (tmp_path / "ok.jsonl").write_text(line + "\r\n")
    assert len(records(tmp_path / "ok.jsonl")) == 1
    (tmp_path / "long.jsonl").write_text(line + " \n")
    with pytest.raises(DataError, match="line 1: longer than 100 bytes"):
        records(tmp_path / "long.jsonl")


def test_a_json_list_larger_than_the_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(label_files, "MAX_JSON_LIST_BYTES", 1 << 20)
    path = tmp_path / "labels.json"
    path.write_text(json.dumps([GOOD] * 30_000))  # about 2 MiB
    with pytest.raises(DataError, match=r"a JSON list of 2 MiB, more than the 1 MiB read at once: convert it to JSONL"):
        records(path)


def test_a_json_file_that_is_not_a_list_of_objects(tmp_path):
    (tmp_path / "a.json").write_text("[1, 2]")
    with pytest.raises(DataError, match="record 1: expected a JSON object, got int"):
        records(tmp_path / "a.json")


def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    pipe = tmp_path / "labels.jsonl"
    os.mkfifo(pipe)
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(_error(pipe)), daemon=True)
    reader.start()
    reader.join(timeout=30)
    assert outcome == [f"label file {pipe} is a named pipe, not a regular file: name a JSONL or JSON label file"]


@pytest.mark.parametrize("name, message", [("missing.jsonl", "no such label file"), ("folder", "is a folder")])
def test_a_missing_file_or_a_folder(tmp_path, name, message):
    (tmp_path / "folder").mkdir()
    assert message in _error(tmp_path / name)


def _error(path) -> str:
    with pytest.raises(DataError) as caught:
        records(path)
    return str(caught.value)
