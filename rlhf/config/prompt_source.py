"""The `prompts` section: where a task's queries come from, and the checks a path allows before reading it."""

from __future__ import annotations

import glob
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

from rlhf.config.loader import expand_path, option

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
DEMO_SETS = {"stories": DATA_DIR / "demo_stories.jsonl", "documents": DATA_DIR / "demo_documents.jsonl"}
# The demo documents name their columns for the summarisation tasks' templates.
DEMO_FIELDS = {"documents": {"document": "document", "reference": "summary"}}
SUFFIX_KINDS = {".txt": "text", ".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}


@dataclass
class PromptSource:
    kind: Literal["auto", "demo", "hub", "text", "jsonl", "csv", "parquet"] = option(
        "auto", help="Source type; auto: from the path (a folder or .txt: text; .jsonl, .csv, .parquet; else a hub name)."
    )
    path: Optional[str] = option(None, help="File, folder or glob; the hub dataset name; or the demo set (stories, documents).")
    hub_config: Optional[str] = option(None, help="Hub dataset configuration name.")
    hub_split: str = option("train", help="Hub dataset split to read.")
    fields: dict[str, str] = option(
        factory=dict, help="Map of query-template field -> source column (dotted for nested columns, e.g. info.post)."
    )
    id_field: Optional[str] = option(
        None, help="Column holding a stable row id; unset: an `id` column if there is one, else file name and row number."
    )
    encoding: str = option("utf-8", help="Text encoding of local files.")
    eval_fraction: float = option(0.1, help="Share of prompts held out for evaluation (by a hash of the id).")
    split_seed: int = option(0, help="Salt of the train/eval hash; change it to draw another split.")
    max_rows: Optional[int] = option(None, help="Read at most this many rows (before filtering).")

    def problems(self):
        if not 0 <= self.eval_fraction < 1:
            yield "eval_fraction", f"must be in [0, 1), got {self.eval_fraction}"
        if self.max_rows is not None and self.max_rows <= 0:
            yield "max_rows", f"must be positive, got {self.max_rows}"
        if self.kind == "demo" and self.path not in DEMO_SETS:
            yield "path", f"the demo set is one of {', '.join(DEMO_SETS)}, got {self.path!r}"
        special = special_file_kind(self.path) if self.path and self.kind not in ("demo", "hub") else None
        if special:
            yield "path", (f"{self.path} is a {special}, not a regular file: it may never end; "
                           "point prompts.path at a text, JSONL or CSV file")
        encoding_problem = _encoding_problem(self.encoding)
        if encoding_problem:
            yield "encoding", encoding_problem
        if self.kind in ("text", "jsonl", "csv", "parquet") and not local_files(self.path):
            yield "path", not_found(self.path)
        if self.kind == "auto" and self.path and not local_files(self.path) and (
                looks_local(self.path) or expand_path(self.path).is_dir()):
            yield "path", not_found(self.path)


def special_file_kind(path: str) -> Optional[str]:
    """What a path that exists but is neither a regular file nor a folder is (a device, a pipe), else None."""
    try:
        mode = os.stat(expand_path(path)).st_mode
    except (OSError, ValueError):  # missing, or a name no file system takes: other checks say so
        return None
    kinds = {stat.S_ISCHR: "character device", stat.S_ISBLK: "block device", stat.S_ISFIFO: "named pipe",
             stat.S_ISSOCK: "socket"}
    return next((name for test, name in kinds.items() if test(mode)), None)


def _encoding_problem(encoding: str) -> Optional[str]:
    """Prompt files are read line by line, split at the byte \\n: an encoding must know that byte as a line break."""
    try:
        splits_at_newline = b"a\nb".decode(encoding) == "a\nb"
    except LookupError:
        return f"unknown text encoding {encoding!r}: use utf-8, latin-1, cp1252 or another Python text codec"
    except UnicodeDecodeError:
        splits_at_newline = False
    if not splits_at_newline:
        return (f"{encoding} does not write a line break as the byte \\n, and prompt files are read line by line: "
                "convert the file to UTF-8 (iconv -f ENCODING -t UTF-8)")
    return None


def not_found(path: Optional[str]) -> str:
    if path and expand_path(path).is_dir():
        return (f"the folder {path} holds no prompt files ({', '.join(SUFFIX_KINDS)}): "
                "point prompts.path at a file, or at a folder of such files")
    return f"no such file or folder: {path}"


def looks_local(path: str) -> bool:
    """Hub names are `name` or `owner/name`; anything else that does not exist is a missing file."""
    return path.startswith((".", "/", "~")) or Path(path).suffix.lower() in SUFFIX_KINDS or path.count("/") > 1


def local_files(path: Optional[str]) -> list[str]:
    if not path:
        return []
    p = expand_path(path)
    if p.is_dir():
        # Only prompt files: a corpus folder often holds licence notes and readmes beside the text.
        return sorted(str(f) for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIX_KINDS)
    if p.is_file():
        return [str(p)]
    return sorted(glob.glob(str(p)))
