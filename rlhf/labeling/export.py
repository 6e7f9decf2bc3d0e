"""Export the label store's choices for reward-model training (DESIGN.md §3, `runs/<name>/exports/`).

Writes, each atomically:
  best_of_4.jsonl   one row per EFFECTIVE label that is neither skipped nor flagged (a corrected
                    label is replaced by its correction): the query, every sample in STORED order,
                    `best` (an index in that order) and the batch's and label's provenance;
  pairs.jsonl       the n-1 (chosen, rejected) pairs each choice implies, in TRL's explicit-prompt
                    preference format (`prompt`, `chosen`, `rejected`) plus `batch_id` and `labeler`;
  best_of_4/, pairs/  the same rows as Hugging Face datasets (`datasets.load_from_disk`), except
                    that `settings` is a JSON string there: Arrow needs one schema per column, and
                    sampling settings differ between policies and importers;
  summary.json      counts: exported labels and pairs, skipped, flagged and superseded labels.

`rlhf.label_import.import_best_of_4` reads best_of_4.jsonl back.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from rlhf.errors import RLHFError
from rlhf.labeling.store_queries import LabelRecord
from rlhf.run.files import write_jsonl, write_text


def export_labels(store, out_dir: Path, task_name: Optional[str] = None) -> dict[str, Path]:
    """Write the exports of `store` (only queries of `task_name` when given) into `out_dir`."""
    out_dir = Path(out_dir)
    counts = Counter()
    rows = []
    for label in store.exported_labels(task_name):
        if label.skipped or label.flagged:
            counts["skipped" if label.skipped else "flagged"] += 1
            continue
        rows.append(best_of_n_row(label))
    _check_sample_counts(rows)
    pairs = [pair for row in rows for pair in pairs_for(row)]
    paths = {
        "best_of_4": write_jsonl(out_dir / "best_of_4.jsonl", rows),
        "pairs": write_jsonl(out_dir / "pairs.jsonl", pairs),
        "best_of_4_dataset": _save_dataset([_arrow_row(r) for r in rows], out_dir / "best_of_4"),
        "pairs_dataset": _save_dataset(pairs, out_dir / "pairs"),
    }
    summary = {"task": task_name, "labels": len(rows), "pairs": len(pairs), "skipped": counts["skipped"],
               "flagged": counts["flagged"], "superseded": store.count_superseded_labels(task_name),
               "labelers": sorted({r["labeler"] for r in rows}), "batches": len({r["batch_id"] for r in rows})}
    paths["summary"] = write_text(out_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    return paths


def best_of_n_row(label: LabelRecord) -> dict:
    row = {"batch_id": label.batch_id, "query_id": label.query_id, "query": label.prompt, "reference": label.reference,
           "split": label.split}
    row.update({f"sample{i}": text for i, text in enumerate(label.samples)})
    row.update({"best": label.choice, "labeler": label.labeler, "policy": label.policy, "round": label.round,
                "seed": label.seed, "settings": label.settings or {}, "shown_order": label.shown_order,
                "seconds": label.seconds, "created_at": _utc(label.created_at).isoformat()})
    return row


def _utc(moment: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; the store writes them in UTC.
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def sample_texts(row: dict) -> list[str]:
    """sample0, sample1, ... of a best-of-n row, in order."""
    texts = []
    while f"sample{len(texts)}" in row:
        texts.append(row[f"sample{len(texts)}"])
    return texts


def pairs_for(row: dict) -> list[dict]:
    """The n-1 preferences one best-of-n choice implies: the chosen sample over each other one."""
    samples = sample_texts(row)
    chosen = samples[row["best"]]
    return [{"prompt": row["query"], "chosen": chosen, "rejected": text, "batch_id": row["batch_id"],
             "labeler": row["labeler"]} for i, text in enumerate(samples) if i != row["best"]]


def _check_sample_counts(rows: list[dict]) -> None:
    # One file and one dataset need one set of sample columns; the reward model batches them too.
    counts = Counter(len(sample_texts(r)) for r in rows)
    if len(counts) > 1:
        found = ", ".join(f"{n} batches of {k}" for k, n in sorted(counts.items()))
        raise RLHFError(f"cannot export batches of different sizes in one file ({found}); "
                        "export each task (task_name) separately")


def _arrow_row(row: dict) -> dict:
    return {**row, "settings": json.dumps(row["settings"], sort_keys=True)}


def _save_dataset(rows: list[dict], target: Path) -> Path:
    """`save_to_disk` into a temporary folder beside `target`, then swap it into place.

    A folder cannot be replaced by one rename, so the old copy is moved aside first and deleted
    after: a reader sees the old dataset, the new one, or (for an instant) none, never half of one.
    """
    from datasets import Dataset
    from datasets.fingerprint import generate_random_fingerprint
    from datasets.table import InMemoryTable
    from datasets.utils.tqdm import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    old = None
    try:
        was_disabled = are_progress_bars_disabled()
        disable_progress_bars()  # a bar per tiny file is noise in the CLI's output
        try:
            # The table Dataset.from_list makes, without its fingerprint: that hashes every row (about 5 s of an
            # export's 40 at 300,000 labels, bench/label_scale.py) to name a cache this dataset never uses.
            Dataset(InMemoryTable.from_pylist(rows), fingerprint=generate_random_fingerprint()).save_to_disk(str(tmp))
        finally:
            if not was_disabled:
                enable_progress_bars()
        if target.exists():
            old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".old"))
            os.replace(target, old / target.name)
        os.replace(tmp, target)
    except BaseException:
        if old is not None and not target.exists():
            os.replace(old / target.name, target)  # put the previous export back
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return target
