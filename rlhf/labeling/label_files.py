"""Label files read with bounded memory: (where, object) for each record of a JSONL file or a JSON list.

A JSONL line is read at most MAX_LINE_BYTES + 1 bytes at a time (as prompt files are,
rlhf.tasks.lines); a longer line fails the import like any other malformed record (an import is all
or nothing). A JSON list (OpenAI's label files) can only be parsed whole, so its size is checked
before it is read: a list larger than MAX_JSON_LIST_BYTES must be converted to JSONL first. Only
regular files are read: a device or a pipe may never end.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import BinaryIO, Iterator, Optional

from rlhf.config.prompt_source import special_file_kind
from rlhf.errors import DataError
from rlhf.tasks.lines import MAX_LINE_BYTES, open_regular

# OpenAI's largest label file (60k summarisation comparisons) is about 150 MB; parsing holds a few times the file.
MAX_JSON_LIST_BYTES = 1 << 30


def fail(where: str, field_name: Optional[str], problem: str):
    at = f"{where}, field '{field_name}'" if field_name else where
    raise DataError(f"{at}: {problem}; nothing was imported")


def json_records(path: Path) -> Iterator[tuple[str, dict]]:
    """A JSON list (OpenAI's files) as (where, object), or a JSONL file line by line."""
    with _open(path) as f:
        head = f.read(4096).decode("utf-8", errors="ignore").lstrip()
    if not head.startswith("["):
        yield from json_lines(path)
        return
    yield from _json_list(path)


def json_lines(path: Path) -> Iterator[tuple[str, dict]]:
    """(where, object) for each non-blank line of a JSONL file."""
    with _open(path) as f:
        for number, raw in enumerate(iter(lambda: f.readline(MAX_LINE_BYTES + 1), b""), 1):
            where = f"{path}, line {number}"
            if len(raw.rstrip(b"\r\n")) > MAX_LINE_BYTES:
                fail(where, None, f"longer than {MAX_LINE_BYTES:,} bytes, far beyond any label record (is it a "
                     "label file? JSONL holds one JSON object per line)")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                fail(where, None, f"not valid UTF-8 text (byte {e.start} of the line)")
            if not text.strip():
                continue
            yield where, _object(where, text)


def _json_list(path: Path) -> Iterator[tuple[str, dict]]:
    with _open(path) as f:
        size = os.fstat(f.fileno()).st_size
        if size > MAX_JSON_LIST_BYTES:
            fail(str(path), None, f"a JSON list of {size / 2**20:,.0f} MiB, more than the {MAX_JSON_LIST_BYTES >> 20:,} MiB "
                 "read at once: convert it to JSONL (one record per line), which is read line by line")
        data = f.read(MAX_JSON_LIST_BYTES + 1)  # bounded even if the file grew since fstat
    try:
        items = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        fail(str(path), None, f"not valid UTF-8 text (byte {e.start})")
    except json.JSONDecodeError as e:
        fail(f"{path}, line {e.lineno}", None, f"not valid JSON ({e.msg}, column {e.colno})")
    if not isinstance(items, list):
        fail(str(path), None, f"expected a JSON list of objects, got {type(items).__name__}")
    for number, obj in enumerate(items, 1):
        where = f"{path}, record {number}"
        if not isinstance(obj, dict):
            fail(where, None, f"expected a JSON object, got {type(obj).__name__}")
        _check_unicode(where, obj)
        yield where, obj


def _open(path: Path) -> BinaryIO:
    fix = "name a JSONL or JSON label file"
    if not path.exists():
        raise DataError(f"{path}: no such label file")
    if path.is_dir():
        raise DataError(f"label file {path} is a folder: {fix}")
    special = special_file_kind(str(path))
    if special:  # refused before opening: opening a named pipe waits for a writer
        raise DataError(f"label file {path} is a {special}, not a regular file: {fix}")
    try:
        return open_regular(str(path), what="label file", fix=fix)
    except OSError as e:
        raise DataError(f"cannot read the label file {path}: {e.strerror or e}") from None


def _object(where: str, text: str) -> dict:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        fail(where, None, f"not valid JSON ({e.msg}, column {e.colno})")
    if not isinstance(obj, dict):
        fail(where, None, f"expected a JSON object, got {type(obj).__name__}")
    _check_unicode(where, obj)
    return obj


def _check_unicode(where: str, obj: dict) -> None:
    """JSON may escape lone surrogates (\\ud800) that are not text: no database can store them."""
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as e:
        fail(where, None, f"holds {e.object[e.start:e.end]!a}, an escape that is not a Unicode character (a lone surrogate)")
