"""Ways a label store file gets damaged, shared by the integrity tests and the bad-input catalogue.

Each takes the path of a store whose engine is disposed (so its WAL is folded into the file) and
damages it in place, as a full disk, a bad copy, a stray editor or a crash could.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

PAGE = 4096  # SQLite's default page size, which the store keeps


def truncated(path: Path) -> None:
    """Cut short part-way, as a copy to a full disk leaves it."""
    os.truncate(path, os.path.getsize(path) // 2 + 100)


def scribbled_page(path: Path) -> None:
    """Random bytes over its second page (a table's b-tree page)."""
    with open(path, "r+b") as f:
        f.seek(PAGE)
        f.write(random.Random(0).randbytes(PAGE))


def header_overwritten(path: Path) -> None:
    with open(path, "r+b") as f:
        f.write(b"\0" * 100)


def text_file(path: Path) -> None:
    """Another file saved under its name."""
    path.write_text("name: notes\nthis is not a database\n" * 20, encoding="utf-8")


def emptied(path: Path) -> None:
    """Truncated to 0 bytes, which SQLite alone would take for a new, empty database."""
    os.truncate(path, 0)


DAMAGE = {"truncated": truncated, "random-page": scribbled_page, "header-overwritten": header_overwritten,
          "text-file": text_file, "zero-bytes": emptied}
# The reason each gives in the one error line.
REASON = {"truncated": "is damaged (database disk image is malformed", "random-page": "is damaged (",
          "header-overwritten": "is damaged (file is not a database)", "text-file": "is damaged (file is not a database)",
          "zero-bytes": "is empty (0 bytes)"}


def small_store(path: Path, labels: int = 30):
    """A closed SQLite store with `labels` labels (one labeler, one batch each); its effective labels."""
    from rlhf.labeling.store import LabelStore, sqlite_url

    path.parent.mkdir(parents=True, exist_ok=True)
    store = LabelStore(sqlite_url(path))
    store.add_queries([{"id": f"q{i}", "task": "sentiment", "prompt": f"Story {i} begins. " * 30} for i in range(labels)])
    ann = store.ensure_labeler("ann")
    for i in range(labels):
        batch = store.add_batch(f"q{i}", [f" sample {i}.{j} " * 8 for j in range(4)], policy="base", seed=i)
        store.submit(ann.id, batch, choice=i % 4, shown_order=[3, 2, 1, 0], seconds=1.5)
    effective = [(l.batch_id, l.choice) for l in store.labels()]
    store.engine.dispose()
    return effective
