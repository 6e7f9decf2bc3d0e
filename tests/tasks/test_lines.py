"""Prompt files read with bounded memory: over-long lines, CSV and Parquet records are counted bad rows, devices are refused."""

from __future__ import annotations

import os
import tracemalloc
from collections import Counter

import pytest

from rlhf.config.prompt_source import PromptSource
from rlhf.errors import DataError
from rlhf.tasks import lines as lines_module
from rlhf.tasks.lines import (
    MAX_LINE_BYTES,
    RECORD_TOO_LONG,
    ROW_GROUP_TOO_LARGE,
    TOO_LONG,
    BoundedLines,
    csv_rows,
    jsonl_lines,
    parquet_rows,
)
from rlhf.tasks.prompts import load_prompts

count_words = lambda texts: [len(t.split()) for t in texts]


def test_a_line_far_over_the_limit_is_skipped_in_bounded_memory(tmp_path):
    path = tmp_path / "p.jsonl"
    with open(path, "wb") as f:
        f.write(b'{"text": "First."}\n{"text": "' + b"a" * (20 * MAX_LINE_BYTES) + b'"}\n{"text": "Last."}\n')
    skipped = Counter()
    tracemalloc.start()
    try:
        lines = list(jsonl_lines(str(path), "utf-8", skipped))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert lines == [(1, '{"text": "First."}\n'), (3, '{"text": "Last."}\n')]  # line numbers stay those of the file
    assert skipped == {TOO_LONG: 1}
    assert peak < 3 * MAX_LINE_BYTES, f"reading a 20 MB line peaked at {peak / 1e6:.1f} MB"


def test_a_line_of_exactly_the_limit_is_kept(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(b"x" * 10 + b"\n" + b"y" * 11 + b"\n" + b"z" * 11)
    with open(path, "rb") as f:
        skipped = Counter()
        assert list(BoundedLines(f, "utf-8", skipped, limit=10)) == ["x" * 10 + "\n", "\n", "\n"]
    assert skipped == {TOO_LONG: 2}  # the TOO_LONG text names the module's limit, not this test's


def test_a_csv_record_left_open_past_the_limit_is_one_bad_row(tmp_path):
    path = tmp_path / "p.csv"
    quoted = b'"' + b"an open quote\n" * (MAX_LINE_BYTES // 10)  # 1.4 MB of lines inside one field
    path.write_bytes(b"\xef\xbb\xbftext,n\nFirst prompt.,1\n" + quoted + b'end of it",2\nLast prompt.,3\n')
    skipped = Counter()
    rows = list(csv_rows(str(path), "utf-8", skipped))
    assert [r["text"] for r in rows][0] == "First prompt." and rows[-1]["text"] == "Last prompt."
    assert rows[-1]["n"] == "3"  # values stay text; the byte-order mark before the header is dropped
    assert skipped[RECORD_TOO_LONG] == 1 and skipped["wrong number of columns"] > 0  # the rest of the open field


@pytest.mark.timeout(60)
@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero on this system")
def test_parquet_is_read_a_row_group_at_a_time_and_a_huge_record_is_one_bad_row(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = ["First.", "a" * (MAX_LINE_BYTES + 1), "Third."] + [f"Row {i}." for i in range(4, 10)]
    pq.write_table(pa.table({"text": texts, "meta": [{"k": i} for i in range(9)]}), tmp_path / "p.parquet", row_group_size=3)
    skipped = Counter()
    rows = list(parquet_rows(str(tmp_path / "p.parquet"), skipped))
    assert [row["__id__"] for row in rows[:2]] == ["p:1", "p:3"]  # ids number the file's rows, skipped ones too
    assert rows[0] == {"text": "First.", "meta": {"k": 0}, "__id__": "p:1"} and len(rows) == 8
    assert skipped == {RECORD_TOO_LONG: 1}
    # A row group too large to decompress at once is skipped whole, its rows counted.
    monkeypatch.setattr(lines_module, "MAX_ROW_GROUP_BYTES", MAX_LINE_BYTES)
    skipped = Counter()
    assert [row["__id__"] for row in parquet_rows(str(tmp_path / "p.parquet"), skipped)] == [f"p:{i}" for i in range(4, 10)]
    assert skipped == {ROW_GROUP_TOO_LARGE: 3}


def test_a_file_that_is_not_parquet_is_one_error(tmp_path):
    (tmp_path / "p.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match="cannot read parquet file .*p.parquet"):
        list(parquet_rows(str(tmp_path / "p.parquet"), Counter()))


def test_a_device_is_refused_by_the_reader_and_by_the_config():
    with pytest.raises(DataError, match="/dev/zero is a character device, not a regular file"):
        load_prompts(PromptSource(kind="text", path="/dev/zero"), ["text"], [], count_words, 20)
    problems = dict(PromptSource(path="/dev/zero").problems())
    assert problems["path"].startswith("/dev/zero is a character device, not a regular file: it may never end")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_a_named_pipe_is_refused_by_the_config(tmp_path):
    fifo = tmp_path / "prompts.txt"
    os.mkfifo(fifo)  # never opened here: opening a pipe without a writer would wait forever
    assert "is a named pipe, not a regular file" in dict(PromptSource(path=str(fifo)).problems())["path"]


@pytest.mark.parametrize("encoding, problem", [
    ("utf-8", None), ("latin-1", None), ("utf-8-sig", None),
    ("utf-16", "does not write a line break as the byte \\n"), ("base64", "unknown text encoding"),
    ("klingon", "unknown text encoding"),
])
def test_the_encoding_must_split_lines_at_the_newline_byte(encoding, problem):
    problems = dict(PromptSource(kind="demo", path="stories", encoding=encoding).problems())
    assert (problem in problems["encoding"]) if problem else "encoding" not in problems
