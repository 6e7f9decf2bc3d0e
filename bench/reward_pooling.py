"""Reward-model variants on one run's labels: which one tracks the labeler from a hundred labels?

Each variant is trained by `rlhf train-reward`'s own code on the run's labels (same held-out
queries), then scores the run's evaluation samples (held-out prompts, zero-shot and policy), which
the simulated labeler also scores. Printed per variant:
  held-out acc   best-of-4 accuracy on the held-out labels (chance 25%; few labels: noisy)
  spearman       rank correlation of reward and labeler score over all evaluation samples
  pair agree     share of same-prompt sample pairs the labeler scores differently that the reward orders alike
  train s        wall time of training, normalisation included
Variants: paper (every weight, last token, as the paper), paper-mean (every weight, mean over the
response), head-last / head-mean (the head alone on the frozen backbone), head-mean-23 (the head on
the frozen first 23 layers; the quick start's choice). With --seeds N each variant is trained N
times (head initialisation and data order) and the medians are printed.

    make quickstart && python bench/reward_pooling.py --run runs/quickstart   # about 13 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path and its name would shadow the `reward` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

ALL_WEIGHTS = {"reward.train_backbone": True, "reward.backbone_layers": None, "reward.gradient_accumulation_steps": 1}
VARIANTS = {  # every-weight variants: one epoch in updates of 8 labels (a hundred labels: more, smaller updates)
    "paper": {**ALL_WEIGHTS, "reward.pooling": "last"},
    "paper-mean": {**ALL_WEIGHTS, "reward.pooling": "mean"},
    "head-last": {"reward.train_backbone": False, "reward.pooling": "last", "reward.backbone_layers": None},
    "head-mean": {"reward.train_backbone": False, "reward.pooling": "mean", "reward.backbone_layers": None},
    "head-mean-23": {"reward.train_backbone": False, "reward.pooling": "mean", "reward.backbone_layers": 23},
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", default="runs/quickstart", help="A run directory with labels.db and eval/samples.jsonl.")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--seeds", type=int, default=1, help="Trainings per variant (seed i for the i-th).")
    p.add_argument("--json", help="Also write the rows here.")
    return p.parse_args(argv)


def evaluation_samples(run: Path, kind: str) -> tuple[list[tuple[str, str]], list[float], list[str]]:
    """(query, sample) pairs of the run's evaluation, the labeler's score of each, and each one's prompt id."""
    from rlhf.labeling.simulated import scorer

    score = scorer(kind)
    pairs, scores, prompts = [], [], []
    with open(run / "eval" / "samples.jsonl", encoding="utf-8") as f:
        for row in map(json.loads, f):
            for samples in row["systems"].values():
                for sample in samples:
                    pairs.append((row["query"], sample))
                    scores.append(score(row["query"], sample, row.get("reference")))
                    prompts.append(row["query_id"])
    return pairs, scores, prompts


def ranks(values):
    """Average ranks, so ties (VADER scores many neutral samples exactly 0) do not take their file order."""
    import pandas as pd

    return pd.Series(values, dtype=float).rank().to_numpy()


def agreement(rewards, scores, prompts, pairs) -> tuple[float, float, int]:
    """Spearman correlation, and the share of same-prompt pairs with different labeler scores ordered alike."""
    import numpy as np

    rho = float(np.corrcoef(ranks(rewards), ranks(scores))[0, 1])
    same = [(i, j) for i in range(len(scores)) for j in range(i + 1, len(scores))
            if prompts[i] == prompts[j] and scores[i] != scores[j] and pairs[i][1] != pairs[j][1]]
    alike = sum((rewards[i] - rewards[j]) * (scores[i] - scores[j]) > 0 for i, j in same)
    return rho, alike / max(len(same), 1), len(same)


def train_variant(run: Path, work: Path, name: str, seed: int) -> tuple[Path, float, dict]:
    from reward.train import train_reward
    from rlhf.config.run_config import load_config
    from rlhf.labeling.store import LabelStore

    overrides = [("output_dir", str(work)), ("name", f"{name}-{seed}"), ("seed", seed), *VARIANTS[name].items()]
    config = load_config(str(run / "config.yaml"), overrides)
    config.run_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(run / "labels.db", config.layout.label_store)
    start = time.perf_counter()
    metrics = train_reward(config, LabelStore.for_run(config.run_dir), log=lambda m: None)
    return config.layout.reward_model, time.perf_counter() - start, metrics


def measure(run: Path, work: Path, name: str, seed: int, samples) -> dict:
    from reward.model import load_reward_model
    from reward.normalize import rewards
    from rlhf.config.run_config import load_config

    task = load_config(str(run / "config.yaml"), []).task
    model_dir, seconds, metrics = train_variant(run, work, name, seed)
    pairs, scores, prompts = samples
    model, tokenizer = load_reward_model(model_dir)
    predicted = rewards(model, tokenizer, pairs, max_query=task.query_length, max_response=task.response_length).tolist()
    rho, alike, compared = agreement(predicted, scores, prompts, pairs)
    return {"variant": name, "seed": seed, "heldout_acc": metrics["best_of_n_accuracy"], "heldout_labels": metrics["labels"],
            "train_labels": metrics["train_labels"], "spearman": rho, "pair_agree": alike, "pairs": compared, "train_s": seconds}


def main(argv=None):
    import torch

    from rlhf.config.run_config import load_config

    args = parse_args(argv)
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    run = Path(args.run)
    if not (run / "labels.db").is_file() or not (run / "eval" / "samples.jsonl").is_file():
        sys.exit(f"{run} needs labels.db and eval/samples.jsonl: run `make quickstart` (or `rlhf run`) first")
    kind = load_config(str(run / "config.yaml"), []).labeling.simulator
    samples = evaluation_samples(run, kind)
    print(f"{run}: {len(samples[0])} evaluation samples scored by sim:{kind}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.variants:
            for seed in range(args.seeds):
                rows.append(measure(run, Path(tmp), name, seed, samples))
                print(json.dumps(rows[-1]), flush=True)
    print(f"\n| variant | held-out acc | spearman | pair agree (of {rows[0]['pairs']}) | train s |\n|---|---|---|---|---|")
    for name in args.variants:
        mine = [r for r in rows if r["variant"] == name]
        med = lambda key: statistics.median(r[key] for r in mine)
        print(f"| {name} | {med('heldout_acc'):.1%} of {mine[0]['heldout_labels']} | {med('spearman'):+.3f} | "
              f"{med('pair_agree'):.1%} | {med('train_s'):.0f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
