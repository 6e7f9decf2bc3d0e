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


def check_writable(path: str | Path, what: str, folder: bool = False, fix: str = "choose another path") -> Path:
    """Refuse an output that could not be written, before the work that makes it: a failed write
    after an hour of sampling or training loses the hour and ends in a traceback.

    `path` is a file (or with `folder`, a folder) that may not exist yet; what must hold is that
    it is not the other kind, and that the nearest folder on its way that exists is a folder the
    process may write in. os.access asks the kernel, so a read-only mount counts too.
    """
    path = Path(path)
    try:
        return _check_writable(path, what, folder, fix)
    except OSError as e:  # a folder on the way that may not even be looked into
        raise RLHFError(f"{what} {path} cannot be written: {e.strerror or e}; {fix}") from None


def _check_writable(path: Path, what: str, folder: bool, fix: str) -> Path:
    if path.is_dir() and not folder:
        raise RLHFError(f"{what} {path} is a folder: name a file (such as {path / 'out.jsonl'}), or {fix}")
    if folder and path.exists() and not path.is_dir():
        raise RLHFError(f"{what} {path} is a file, not a folder: {fix}")
    existing = path if folder and path.is_dir() else path.parent
    while not existing.exists():  # exists() is False below a regular file too: the walk stops at that file
        existing = existing.parent
    if not existing.is_dir():
        raise RLHFError(f"{what} {path} cannot be written: {existing} is a file, not a folder; {fix}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RLHFError(f"{what} {path} cannot be written: no permission to write in {existing}; "
                        f"{fix}, or make {existing} writable")
    return path


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

    encode = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(row, ensure_ascii=False), one encoder for all rows
    with atomic_path(path, overwrite) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(encode(row) + "\n")
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
