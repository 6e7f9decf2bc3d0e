"""A run with synthetic sample batches, to try, test and benchmark the app without a model.

    python -m labeling_app.synthetic runs/demo --batches 50
    RLHF_CONFIG=runs/demo/config.yaml streamlit run labeling_app/app.py    # sign in as admin / admin-password

Every batch has a distinct prompt and distinct continuations, so a change of item is visible on screen.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Iterable, Optional

import yaml

from rlhf.labeling.store import LabelStore
from rlhf.run.layout import RunLayout, sqlite_url

_OPENINGS = ["The rain had not stopped for three days when", "At the end of the lane stood a house that",
             "Nobody in the village remembered why", "She folded the letter twice and", "The train was late again, and"]
_ENDINGS = [" the old man smiled at the bright morning.", " everything seemed grey and hopeless.",
            " a dog barked somewhere far away.", " we laughed until the lamps were lit."]


def synthetic_batches(n: int, samples: int = 4) -> list[tuple[str, list[str]]]:
    """n (prompt, continuations) pairs, each prompt and continuation unique to its batch."""
    return [(f"[{i}] {_OPENINGS[i % len(_OPENINGS)]}",
             [f"{_ENDINGS[(i + j) % len(_ENDINGS)][:-1]} (#{i}.{j + 1})." for j in range(samples)])
            for i in range(n)]


def write_config(run_root: Path, name: str, task: str = "sentiment", labelers_per_batch: int = 1,
                 extra: Optional[dict] = None) -> Path:
    """The run config YAML at run_root/name/config.yaml, with an absolute output_dir."""
    data = {"name": name, "output_dir": str(Path(run_root).resolve()), "task": task,
            "labeling": {"labelers_per_batch": labelers_per_batch}, **(extra or {})}
    path = Path(run_root) / name / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def fill_store(store: LabelStore, batches: Iterable[tuple[str, list[str]]], task: str = "sentiment",
               prefix: str = "q") -> list[int]:
    """Add each (prompt, continuations) as a query and a batch; returns the batch ids."""
    batches = list(batches)
    ids = [f"{prefix}{i}" for i in range(len(batches))]
    store.add_queries({"id": qid, "task": task, "prompt": prompt, "split": "train"} for qid, (prompt, _) in zip(ids, batches))
    return [store.add_batch(qid, samples, policy="synthetic") for qid, (_, samples) in zip(ids, batches)]


def make_run(run_root: Path, name: str = "demo", batches: int = 20, labelers_per_batch: int = 1,
             labelers: Iterable[tuple[str, str, str]] = (("admin", "admin-password", "admin"),)) -> tuple[Path, LabelStore]:
    """A config file and a store with synthetic batches and the given (name, password, role) labelers."""
    config_path = write_config(run_root, name, labelers_per_batch=labelers_per_batch)
    store = LabelStore(sqlite_url(RunLayout(config_path.parent).label_store))
    fill_store(store, synthetic_batches(batches))
    for labeler_name, password, role in labelers:
        store.add_labeler(labeler_name, password, role)
    return config_path, store


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="the run directory to create (its parent is the output_dir)")
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--labelers-per-batch", type=int, default=1)
    args = parser.parse_args(argv)
    run_dir = args.run_dir.resolve()
    config_path, _ = make_run(run_dir.parent, run_dir.name, args.batches, args.labelers_per_batch,
                              [("admin", "admin-password", "admin"), ("labeler", "labeler-password", "labeler")])
    print(f"RLHF_CONFIG={config_path} streamlit run labeling_app/app.py   # admin / admin-password, labeler / labeler-password")


if __name__ == "__main__":
    main()
