"""Prompt files read with bounded memory: a line (or CSV record) longer than MAX_LINE_BYTES is a bad row.

Python's file iteration, `read_bytes()` and pandas' CSV reader all hold a whole line, or a whole
file, in memory: a file without line breaks - a log gone wrong, a binary dump, /dev/zero - grew
the process by gigabytes before anything was reported. Here a line is read at most
MAX_LINE_BYTES + 1 bytes at a time; a longer one is skipped to its end in small chunks and counted,
like any other bad row. Only regular files are read: a device or a pipe may never end.

Parquet has no lines: it is read one row group at a time (pyarrow decompresses a row group whole),
a row group over MAX_ROW_GROUP_BYTES uncompressed is skipped with its rows counted, and a row whose
values pass MAX_LINE_BYTES together is a bad row like a line too long.
"""

from __future__ import annotations

import csv
import os
import stat
from collections import Counter
from pathlib import Path
from typing import BinaryIO, Iterator, Optional

from rlhf.config.prompt_source import special_file_kind
from rlhf.errors import DataError

MAX_LINE_BYTES = 1_000_000  # far beyond any prompt; a query is a few hundred tokens
TOO_LONG = f"line longer than {MAX_LINE_BYTES:,} bytes"
RECORD_TOO_LONG = f"record longer than {MAX_LINE_BYTES:,} bytes"
SKIP_CHUNK = 1 << 16  # the rest of a line too long is read and dropped this many bytes at a time
MAX_ROW_GROUP_BYTES = 256 << 20  # pyarrow's writers default to row groups of 1M rows; prompts make far less
ROW_GROUP_TOO_LARGE = f"in a Parquet row group larger than {MAX_ROW_GROUP_BYTES >> 20} MiB"


class RecordTooLong(Exception):
    """A CSV record whose lines together pass the limit (a quoted field left open runs to the end of the file)."""


def open_regular(path: str, what: str = "prompt file", fix: str = "point prompts.path at a text, JSONL or CSV file") -> BinaryIO:
    """`path` opened for reading in binary, refused unless it is a regular file (whose end comes)."""
    f = open(path, "rb")
    if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # fstat: what was opened, not what the name says now
        f.close()
        raise DataError(f"{what} {path} is a {special_file_kind(path) or 'special file'}, not a regular file: {fix}")
    return f


class BoundedLines:
    """The decoded lines of a binary file, line ends kept, none longer than `limit` bytes.

    A line too long or not in `encoding` is counted in `skipped` and read as an empty line, so line
    numbers and paragraph breaks stay where they were. With `record_limit`, the lines read since
    `new_record()` may not pass it together: `RecordTooLong` is raised, and iteration can go on.
    An iterator class, not a generator: a generator that raises is finished, this one is not.
    """

    def __init__(self, f: BinaryIO, encoding: str, skipped: Counter, limit: int = MAX_LINE_BYTES,
                 record_limit: Optional[int] = None):
        self.f, self.encoding, self.skipped, self.limit = f, encoding, skipped, limit
        self.record_limit, self.record_bytes, self.number = record_limit, 0, 0

    def __iter__(self) -> "BoundedLines":
        return self

    def __next__(self) -> str:
        line = self.f.readline(self.limit + 1)
        if not line:
            raise StopIteration
        self.number += 1
        if len(line) > self.limit and not line.endswith(b"\n"):
            self._skip_rest_of_line()
            self.skipped[TOO_LONG] += 1
            return "\n"
        self.record_bytes += len(line)
        if self.record_limit is not None and self.record_bytes > self.record_limit:
            self.new_record()
            raise RecordTooLong
        try:
            return line.decode(self.encoding)
        except UnicodeDecodeError:
            self.skipped["wrong encoding"] += 1
            return "\n"

    def _skip_rest_of_line(self) -> None:
        while True:
            chunk = self.f.readline(SKIP_CHUNK)
            if not chunk or chunk.endswith(b"\n"):
                return

    def new_record(self) -> None:
        self.record_bytes = 0


def text_of(path: str, encoding: str, skipped: Counter) -> str:
    """A text file's content, its too-long and undecodable lines left empty."""
    with open_regular(path) as f:
        return "".join(BoundedLines(f, encoding, skipped))


def jsonl_lines(path: str, encoding: str, skipped: Counter) -> Iterator[tuple[int, str]]:
    """(line number, text) of a JSONL file's lines that are not blank."""
    with open_regular(path) as f:
        lines = BoundedLines(f, encoding, skipped)
        for text in lines:
            if text.strip():
                yield lines.number, text


def csv_rows(path: str, encoding: str, skipped: Counter) -> Iterator[dict]:
    """A CSV file's rows as {header: value}; a row with another number of fields than the header is skipped."""
    # csv's own limit on one field (128 KiB by default) is raised to ours; a record can pass neither.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE_BYTES))
    with open_regular(path) as f:
        lines = BoundedLines(f, encoding, skipped, record_limit=MAX_LINE_BYTES)
        reader = csv.reader(lines)
        header = _next_row(reader, lines, skipped)
        while header == []:  # blank lines before the header
            header = _next_row(reader, lines, skipped)
        if header is None:
            raise DataError(f"cannot read csv file {path}: it has no header row (the first line names the columns)")
        header[0] = header[0].removeprefix("\ufeff")  # the byte-order mark some editors write first
        number = 0
        while (row := _next_row(reader, lines, skipped)) is not None:
            if not row:
                continue  # a blank line
            number += 1
            if len(row) != len(header):
                skipped["wrong number of columns"] += 1
                continue
            yield {**dict(zip(header, row)), "__id__": f"{Path(path).stem}:{number}"}


def _next_row(reader, lines: BoundedLines, skipped: Counter) -> Optional[list[str]]:
    """The next parsed row (None at the end), past records too long or not valid CSV, which are counted."""
    while True:
        lines.new_record()
        try:
            return next(reader)
        except StopIteration:
            return None
        except RecordTooLong:
            skipped[RECORD_TOO_LONG] += 1
        except csv.Error as e:
            skipped[RECORD_TOO_LONG if "field limit" in str(e) else "not valid CSV"] += 1


def parquet_rows(path: str, skipped: Counter) -> Iterator[dict]:
    """A Parquet file's rows as dicts (struct columns nested), read one row group at a time; `__id__`
    numbers every row of the file, skipped ones included, so ids do not move when a row is dropped."""
    import pyarrow.parquet as pq

    with open_regular(path) as f:
        try:
            parquet, number = pq.ParquetFile(f), 0
            for index in range(parquet.num_row_groups):
                group = parquet.metadata.row_group(index)
                if group.total_byte_size > MAX_ROW_GROUP_BYTES:
                    skipped[ROW_GROUP_TOO_LARGE] += group.num_rows
                    number += group.num_rows
                    continue
                for row in parquet.read_row_group(index).to_pylist():
                    number += 1
                    if _value_bytes(row) > MAX_LINE_BYTES:
                        skipped[RECORD_TOO_LONG] += 1
                        continue
                    yield {**row, "__id__": f"{Path(path).stem}:{number}"}
        except (OSError, ValueError, TypeError) as exc:  # pyarrow's ArrowException types derive from these
            raise DataError(f"cannot read parquet file {path}: {str(exc).splitlines()[0]}") from None


def _value_bytes(value) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8", errors="replace"))
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, dict):
        return sum(_value_bytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_value_bytes(v) for v in value)
    return 8
