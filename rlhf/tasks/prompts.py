"""Prompt sources: where queries come from, returned as `datasets` splits.

Sources are a hub dataset (where the hub is reachable), local plain text (cut into excerpts of
whole sentences, like the paper's BookCorpus excerpts), JSONL, CSV or Parquet with configurable
field names, or the small demo set shipped in `rlhf/data/`. Every record gets an `id` (its own id
column where it has one); the train/eval split is a hash of that id, so with real ids it does not
move when rows are added or reordered.
Bad rows are counted by reason and reported, never fatal; a source with no usable row at all is
one `DataError` saying why and what to change. Local files are read with bounded memory
(`rlhf.tasks.lines`): a line or CSV record over MAX_LINE_BYTES is such a bad row.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Optional

from rlhf.config.loader import expand_path
from rlhf.config.prompt_source import DEMO_FIELDS, DEMO_SETS, SUFFIX_KINDS, PromptSource, local_files, looks_local, not_found
from rlhf.errors import DataError
from rlhf.tasks.lines import (
    MAX_LINE_BYTES,
    RECORD_TOO_LONG,
    ROW_GROUP_TOO_LARGE,
    TOO_LONG,
    csv_rows,
    jsonl_lines,
    parquet_rows,
    text_of,
)

if TYPE_CHECKING:
    import datasets

# A sentence ends at . ! or ? (plus closing quotes or brackets) followed by space and a capital:
# '"Oh!" said she' stays one sentence, the closing quote stays with its sentence, and titles
# such as 'Mr.' end nothing.
TITLES = "".join(rf"(?<!\b{t}\.)" for t in ("Mr", "Mrs", "Ms", "Dr", "St", "Col", "Capt", "Rev", "Sir"))
SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))" + TITLES + r"\s+(?=[\"'(\[]?[A-Z])")


@dataclass
class PromptReport:
    """What reading a source kept and what it skipped, by reason."""

    source: str
    kept: int = 0
    skipped: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        text = f"{self.source}: {self.kept} prompts"
        if self.skipped:
            reasons = ", ".join(f"{n} {why}" for why, n in self.skipped.most_common())
            text += f"; skipped {sum(self.skipped.values())} bad rows ({reasons})"
        return text


def load_prompts(
    source: PromptSource,
    needed: list[str],
    optional: Iterable[str] = (),
    count_tokens: Optional[Callable[[list[str]], list[int]]] = None,
    max_tokens: Optional[int] = None,
) -> tuple["datasets.DatasetDict", PromptReport]:
    """Read `source` into `train` and `eval` splits holding `id` plus the `needed` fields.

    `count_tokens` and `max_tokens` size the excerpts of plain-text sources (the task's tokenizer
    and query length).
    """
    kind = resolve_kind(source)
    report = PromptReport(source=f"{kind}:{source.path}")
    if kind == "text":
        if count_tokens is None or max_tokens is None:
            raise DataError("plain-text prompt sources need a tokenizer and a query length to cut excerpts")
        raw = _text_rows(source, count_tokens, max_tokens, report)
        columns = {"text": "text"}
    else:
        raw = _rows(kind, source, report)
        columns = {**DEMO_FIELDS.get(source.path, {}), **source.fields} if kind == "demo" else source.fields
    records = []
    for i, row in enumerate(raw):
        if source.max_rows is not None and i >= source.max_rows:
            break
        record = _record(row, i, source, needed, optional, columns, report)
        if record is not None:
            records.append(record)
    report.kept = len(records)
    if not records:
        raise DataError(_no_prompts(kind, source, needed, columns, report))
    columns = ["id", *needed, *(o for o in optional if o not in needed)]
    return _split(records, columns, source), report


def _no_prompts(kind: str, source: PromptSource, needed, columns: dict, report: PromptReport) -> str:
    """One line saying why a source gave no prompt at all, and what to change."""
    where = f"the {kind} prompt source {source.path}"
    if not report.skipped:
        if kind == "text":
            return (f"{where} holds no usable text: excerpts are whole sentences ending in . ! or ?; "
                    "point prompts.path at prose")
        return f"{where} holds no rows: point prompts.path at a file with prompts"
    reasons = ", ".join(f"{n} {why}" for why, n in report.skipped.most_common())
    hints = []
    if any(why.startswith("no field") for why in report.skipped):
        mapped = ", ".join(f"{name} <- '{columns.get(name, name)}'" for name in needed)
        hints.append(f"the task needs {mapped}: map them to the source's columns with prompts.fields "
                     f"(e.g. --prompts.fields.{needed[0]} COLUMN)" if needed else "check prompts.fields")
    if "wrong encoding" in report.skipped:
        hints.append(f"the file is not {source.encoding} text: set prompts.encoding or convert it")
    if "not valid JSON" in report.skipped or "not a JSON object" in report.skipped:
        hints.append("JSONL needs one JSON object per line")
    if TOO_LONG in report.skipped or RECORD_TOO_LONG in report.skipped:
        hints.append(f"a line (or CSV or Parquet record) may hold at most {MAX_LINE_BYTES:,} bytes: point prompts.path "
                     "at a file of text lines")
    if ROW_GROUP_TOO_LARGE in report.skipped:
        hints.append("write the Parquet file with smaller row groups (pyarrow: row_group_size)")
    hint = "; ".join(hints) or "fix the file or point prompts.path at another source"
    return f"{where} gave no usable prompts (skipped {reasons}): {hint}"


def resolve_kind(source: PromptSource) -> str:
    if source.kind != "auto":
        return source.kind
    if source.path is None:
        raise DataError("the prompt source has no path: set prompts.path (a file, folder, glob or hub dataset name)")
    files = local_files(source.path)
    if files:
        kinds = {SUFFIX_KINDS.get(Path(f).suffix.lower(), "text") for f in files}
        if len(kinds) > 1:
            raise DataError(f"prompts.path {source.path} mixes file types ({', '.join(sorted(kinds))}): set prompts.kind")
        return kinds.pop()
    if looks_local(source.path) or expand_path(source.path).is_dir():
        raise DataError(f"prompts.path: {not_found(source.path)}")
    return "hub"


def _rows(kind: str, source: PromptSource, report: PromptReport) -> Iterator[dict]:
    if kind == "demo":
        yield from _jsonl_rows([str(DEMO_SETS[source.path])], "utf-8", report)
    elif kind == "jsonl":
        yield from _jsonl_rows(local_files(source.path), source.encoding, report)
    elif kind in ("csv", "parquet"):
        for path in local_files(source.path):
            yield from _table_rows(kind, path, source.encoding, report)
    elif kind == "hub":
        yield from _hub_rows(source)
    else:
        raise DataError(f"unknown prompt source kind: {kind}")


def _jsonl_rows(paths: list[str], encoding: str, report: PromptReport) -> Iterator[dict]:
    for path in paths:
        for n, text in jsonl_lines(path, encoding, report.skipped):
            try:
                row = json.loads(text)
            except json.JSONDecodeError:
                report.skipped["not valid JSON"] += 1
                continue
            if not isinstance(row, dict):
                report.skipped["not a JSON object"] += 1
                continue
            row.setdefault("__id__", f"{Path(path).stem}:{n}")
            yield row


def _table_rows(kind: str, path: str, encoding: str, report: PromptReport) -> Iterator[dict]:
    if kind == "csv":  # read here, line by line: pandas holds a whole line, however long, in memory
        yield from csv_rows(path, encoding, report.skipped)
        return
    yield from parquet_rows(path, report.skipped)


def _hub_rows(source: PromptSource) -> Iterator[dict]:
    import datasets

    from rlhf.models.hub import use_offline_mode_if_unreachable

    use_offline_mode_if_unreachable()
    try:
        table = datasets.load_dataset(source.path, source.hub_config, split=source.hub_split)
    except Exception as exc:  # offline, unknown name, missing config: all end the same way for the user
        raise DataError(
            f"cannot load hub dataset '{source.path}' ({type(exc).__name__}: {str(exc).splitlines()[0][:160]}). "
            "Without the hub, use a local file (prompts.path=FILE.txt|.jsonl|.csv|.parquet) "
            "or the built-in demo set (prompts.kind=demo prompts.path=stories|documents)."
        ) from None
    for n, row in enumerate(table):
        row["__id__"] = f"{source.path}:{source.hub_split}:{n}"
        yield row


def _text_rows(source, count_tokens, max_tokens: int, report: PromptReport) -> Iterator[dict]:
    for path in local_files(source.path):
        text = text_of(path, source.encoding, report.skipped)
        sentences = split_sentences(text)
        lengths = count_tokens([" " + s for s in sentences]) if sentences else []
        for n, excerpt in enumerate(_excerpts(sentences, lengths, max_tokens, report)):
            yield {"text": excerpt, "__id__": f"{Path(path).stem}:{n}"}


def split_sentences(text: str) -> list[str]:
    """Sentences of prose, joined across line wraps; headings without end punctuation are dropped."""
    sentences = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        if not paragraph or not re.search(r"[.!?][\"')\]]*$", paragraph):
            continue
        sentences.extend(s for s in SENTENCE_END.split(paragraph) if s)
    return sentences


def _excerpts(sentences: list[str], lengths: list[int], max_tokens: int, report: PromptReport) -> Iterator[str]:
    """Consecutive whole sentences, as many as fit in max_tokens; at least half of it full."""
    current, used = [], 0
    for sentence, n in zip(sentences, lengths):
        if n > max_tokens:
            report.skipped["sentence longer than the query"] += 1
            if used >= max_tokens // 2:
                yield " ".join(current)
            current, used = [], 0
            continue
        if used + n > max_tokens:
            if used >= max_tokens // 2:
                yield " ".join(current)
            current, used = [], 0
        current.append(sentence)
        used += n
    if current and used >= max_tokens // 2:
        yield " ".join(current)


def _get(row: dict, column: str):
    value = row
    for part in column.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _record(row, index, source, needed, optional, columns, report) -> Optional[dict]:
    record = {}
    for name in list(needed) + [o for o in optional if o not in needed]:
        value = _get(row, columns.get(name, name))
        if name in needed and value is None:
            report.skipped[f"no field '{columns.get(name, name)}'"] += 1
            return None
        if name in needed and (not isinstance(value, str) or not value.strip()):
            report.skipped["empty" if isinstance(value, str) else "not text"] += 1
            return None
        record[name] = value.strip() if isinstance(value, str) else None
    record["id"] = _row_id(row, source.id_field)
    return record


def _row_id(row: dict, id_field: Optional[str]) -> str:
    """The row's own id (id_field, else an `id` column), else file and row number."""
    for column in (id_field, "id"):
        value = _get(row, column) if column else None
        if value not in (None, ""):
            return str(value)
    return row["__id__"]


def _split(records: list[dict], columns: list[str], source: PromptSource) -> "datasets.DatasetDict":
    import datasets

    def is_eval(record_id: str) -> bool:
        digest = hashlib.sha1(f"{source.split_seed}:{record_id}".encode()).hexdigest()
        return int(digest[:8], 16) % 10_000 < source.eval_fraction * 10_000

    parts = {"train": [], "eval": []}
    for record in records:
        parts["eval" if is_eval(record["id"]) else "train"].append(record)
    return datasets.DatasetDict(
        {name: datasets.Dataset.from_list(rows) if rows else datasets.Dataset.from_dict({c: [] for c in columns})
         for name, rows in parts.items()}
    )
