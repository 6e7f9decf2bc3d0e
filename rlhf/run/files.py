"""Atomic writes: every artifact of a run appears whole or not at all.

Every artifact is written under a temporary name and renamed into place, so a crash never leaves
a half-written file that a later stage would read. A finished artifact is not overwritten unless
the caller says so.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from rlhf.errors import RLHFError


@contextlib.contextmanager
def atomic_path(path: str | Path, overwrite: bool = True):
    """Yield a temporary path beside `path`; on success it replaces `path`, on error it is removed."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise RLHFError(f"{path} already exists and is finished; remove it or choose another run name to write it again")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; artifacts get the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | Path, text: str, overwrite: bool = True) -> Path:
    with atomic_path(path, overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_jsonl(path: str | Path, rows, overwrite: bool = True) -> Path:
    import json

    with atomic_path(path, overwrite) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return Path(path)


def replace_dir(tmp: Path, final: Path) -> None:
    """Move the finished directory `tmp` to `final`, replacing what was there.

    Never delete in place: a kill halfway through would leave half a model where later stages look.
    Move the old one aside, put the new one in, then delete the old: `final` is whole or absent.
    """
    import shutil

    old = final.with_name(final.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def save_model_dir(final: Path, model, tokenizer, files: dict[str, str]) -> None:
    """save_pretrained() of the model and tokenizer plus text files, written aside and swapped in whole."""
    import shutil

    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    for name, text in files.items():
        (tmp / name).write_text(text)
    replace_dir(tmp, final)
