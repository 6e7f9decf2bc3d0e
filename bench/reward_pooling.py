"""Reward-model variants on one run's labels: which one tracks the labeler from a hundred labels?

Each variant is trained by `rlhf train-reward`'s own code on the run's labels (the quick start's:
143 to train on), then judged on a fresh evaluation set that played no part in choosing the
quick start's settings. That choice (head-mean-23) was made on the quick start's seed-0 held-out
labels (19) and on its evaluation samples, which include the policy PPO trained against that very
variant. The fresh set avoids both:
  prompts   --eval-prompts (default 150) excerpts of ../shared/data/stories/austen (its eval split);
            the quick start samples the shipped demo story openings, so none of these prompts is in
            the run (checked: no prompt of the run's labels or evaluation samples may appear);
  samples   4 zero-shot continuations of each, sampled from the base model: no policy's samples
            (checked: every batch's policy is the base model);
  labels    the run's simulated labeler (sim:KIND at its default noise) chooses among each 4 with seed
            --labels-seed (default 1; the quick start labels with seed 0).
Austen excerpts are not the demo openings the variants were trained on, so the fresh set also
measures how far each variant carries to other prose of the same kind; the run's own held-out
openings are no alternative, since their evaluation samples were part of the choice. The set is
built once per --workdir and reused. Printed per variant, as the median [min, max] over --seeds
trainings (seed i: head initialisation, data order and the run's own train/held-out split):
  fresh best-of-4  accuracy on the fresh labels (chance 25%; the labeler's own score reaches the printed ceiling)
  spearman         rank correlation (average ranks: VADER scores many samples exactly 0) of reward and labeler score
  pair agree       share of same-prompt sample pairs the labeler scores differently that the reward orders alike
  train s          wall time of training, normalisation included
The held-out accuracy on the run's own split (at seed 0 the very labels the choice was made on) is
kept in the JSON rows (`run_heldout_acc`), not in the table.
Variants: paper (every weight, last token, as the paper), paper-mean (every weight, mean over the
response), head-last / head-mean (the head alone on the frozen backbone), head-mean-23 (the head on
the frozen first 23 layers; the quick start's choice).

    make quickstart && python bench/reward_pooling.py --run runs/quickstart --workdir /tmp/pooling
        # 3 seeds x 5 variants: about 45 minutes on 2 cores (one seed took 13 minutes before; the fresh set adds ~5)
    python bench/reward_pooling.py --quick    # tiny random model and a tiny run made on the spot: the plumbing, a few minutes
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path and its name would shadow the `reward` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))
AUSTEN = ROOT.parent / "shared" / "data" / "stories" / "austen"

FRESH_LABELS_SEED = 1  # the quick start's labeler ran with seed 0
ALL_WEIGHTS = {"reward.train_backbone": True, "reward.backbone_layers": None, "reward.gradient_accumulation_steps": 1}
VARIANTS = {  # every-weight variants: one epoch in updates of 8 labels (a hundred labels: more, smaller updates)
    "paper": {**ALL_WEIGHTS, "reward.pooling": "last"},
    "paper-mean": {**ALL_WEIGHTS, "reward.pooling": "mean"},
    "head-last": {"reward.train_backbone": False, "reward.pooling": "last", "reward.backbone_layers": None},
    "head-mean": {"reward.train_backbone": False, "reward.pooling": "mean", "reward.backbone_layers": None},
    "head-mean-23": {"reward.train_backbone": False, "reward.pooling": "mean", "reward.backbone_layers": 23},
}
QUICK_LAYERS = 1  # --quick: the tiny model has 2 layers, so head-mean-23 keeps 1


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", default="runs/quickstart", help="A run directory with config.yaml and labels.db.")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--seeds", type=int, default=None, help="Trainings per variant, seed i for the i-th (default 3; 2 quick).")
    p.add_argument("--eval-prompts", type=int, default=None, help="Fresh Austen prompts to judge on, 4 samples each (default 150; 24 quick).")
    p.add_argument("--labels-seed", type=int, default=FRESH_LABELS_SEED, help="Seed of the fresh samples and labels (the quick start's: 0).")
    p.add_argument("--workdir", help="Keep the fresh evaluation set (and the --quick run) here; default: a temporary folder.")
    p.add_argument("--quick", action="store_true", help="Tiny random model and a tiny run made on the spot (no --run needed).")
    p.add_argument("--json", help="Also write the rows here.")
    args = p.parse_args(argv)
    args.seeds = args.seeds or (2 if args.quick else 3)
    args.eval_prompts = args.eval_prompts or (24 if args.quick else 150)
    return args


# -- the fresh evaluation set ---------------------------------------------------------------------


@dataclass
class FreshSet:
    """Zero-shot samples of prompts the run never saw, the labeler's score of each, and fresh labels."""

    pairs: list[tuple[str, str]]  # (query, sample), 4 per label, in label order
    scores: list[float]  # the labeler's noiseless score of each sample
    prompts: list[str]  # each sample's query id
    best: list[int]  # each label's choice
    labels_seed: int
    base_model: str


def run_prompts(run: Path) -> tuple[set[str], set[str]]:
    """Query ids and texts of everything the run labeled or evaluated on (what chose its settings)."""
    from reward.data import choices_from_store
    from rlhf.labeling.store import LabelStore

    ids, texts = set(), set()
    for c in choices_from_store(LabelStore.for_run(run)):
        ids.add(c.query_id)
        texts.add(c.query)
    samples = run / "eval" / "samples.jsonl"
    if samples.is_file():
        with open(samples, encoding="utf-8") as f:
            for row in map(json.loads, f):
                ids.add(row["query_id"])
                texts.add(row["query"])
    return ids, texts


def fairness_problems(records, base_model: str, run_ids: set[str], run_texts: set[str]) -> list[str]:
    """Why these labels (LabelRecord-like: query_id, prompt, policy, round, seed) may not judge the variants; [] if they may."""
    problems = []
    for r in records:
        where = f"label of query {r.query_id!r}"
        if r.policy != base_model or r.round != 0:
            problems.append(f"{where}: samples from {r.policy} (round {r.round}), not the base model {base_model}: only zero-shot samples may be judged")
        if r.query_id in run_ids or r.prompt in run_texts:
            problems.append(f"{where}: the run labeled or evaluated this prompt, so it may have chosen the shipped settings")
    if not records:
        problems.append("no fresh labels")
    return problems


def fresh_config(run: Path, work: Path, prompts: int, seed: int):
    """The run's config (model, task, labeler) pointed at Austen, a store of its own, the base model and `seed`."""
    from rlhf.config.run_config import load_config

    overrides = [("output_dir", str(work)), ("name", f"fresh-{prompts}-seed{seed}"), ("seed", seed),
                 ("prompts.kind", "text"), ("prompts.path", str(AUSTEN)), ("labeling.num_queries", prompts),
                 ("labeling.database_url", None), ("labeling.policy", None), ("labeling.round", 0)]
    return load_config(str(run / "config.yaml"), overrides)


def fresh_set(run: Path, work: Path, prompts: int, seed: int, log=print) -> FreshSet:
    from rlhf.labeling.batches import sample_for_labeling
    from rlhf.labeling.simulated import scorer, simulate
    from rlhf.labeling.store import LabelStore
    from rlhf.models.loading import load_model_for
    from rlhf.tasks.queries import queries_for

    config = fresh_config(run, work, prompts, seed)
    kind = config.labeling.simulator
    store = LabelStore.for_run(config.run_dir)
    have = store.sampled_query_ids(config.model.name, 0)
    if len(have) < prompts:
        model, tokenizer = load_model_for(config, log=lambda m: None)
        queries = queries_for(config, tokenizer, "eval", log=log)  # Austen's held-out excerpts
        sample_for_labeling(config, store, model, tokenizer, queries, prompts - len(have), log=log)
    simulate(store, kind, task=config.task, seed=seed, progress=False)
    records = store.training_labels()[:prompts]
    problems = fairness_problems(records, config.model.name, *run_prompts(run))
    if problems:
        sys.exit("the fresh evaluation set is not fair:\n  " + "\n  ".join(problems[:10]))
    score = scorer(kind)
    pairs = [(r.prompt, s) for r in records for s in r.samples]
    return FreshSet(pairs=pairs, scores=[score(q, s, None) for q, s in pairs],
                    prompts=[r.query_id for r in records for _ in r.samples], best=[r.choice for r in records],
                    labels_seed=seed, base_model=config.model.name)


def labeler_ceiling(scores: list[float], best: list[int]) -> float:
    """Best-of-n accuracy of the labeler's own noiseless score as the reward, ties split evenly."""
    n = len(scores) // len(best)
    hits = 0.0
    for i, chosen in enumerate(best):
        row = scores[i * n : (i + 1) * n]
        if row[chosen] == max(row):
            hits += 1 / row.count(max(row))
    return hits / len(best)


# -- agreement ------------------------------------------------------------------------------------


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


# -- training and measuring -----------------------------------------------------------------------


def variant_settings(name: str, quick: bool = False) -> dict:
    settings = dict(VARIANTS[name])
    if quick and settings["reward.backbone_layers"] is not None:
        settings["reward.backbone_layers"] = QUICK_LAYERS
    return settings


def train_variant(run: Path, work: Path, name: str, seed: int, quick: bool = False) -> tuple[Path, float, dict]:
    from reward.train import train_reward
    from rlhf.config.run_config import load_config
    from rlhf.labeling.store import LabelStore

    overrides = [("output_dir", str(work)), ("name", f"{name}-{seed}"), ("seed", seed), ("labeling.database_url", None),
                 *variant_settings(name, quick).items()]
    config = load_config(str(run / "config.yaml"), overrides)
    shutil.rmtree(config.run_dir, ignore_errors=True)  # a reused --workdir: train afresh
    config.run_dir.mkdir(parents=True)
    shutil.copy(run / "labels.db", config.layout.label_store)
    start = time.perf_counter()
    metrics = train_reward(config, LabelStore.for_run(config.run_dir), log=lambda m: None)
    return config.layout.reward_model, time.perf_counter() - start, metrics


def measure(run: Path, work: Path, name: str, seed: int, fresh: FreshSet, quick: bool = False) -> dict:
    import torch

    from reward.model import load_reward_model
    from reward.normalize import rewards
    from reward.trainer import choice_metrics
    from rlhf.config.run_config import load_config

    task = load_config(str(run / "config.yaml"), []).task
    model_dir, seconds, metrics = train_variant(run, work, name, seed, quick)
    model, tokenizer = load_reward_model(model_dir)
    predicted = rewards(model, tokenizer, fresh.pairs, max_query=task.query_length, max_response=task.response_length).tolist()
    rho, alike, compared = agreement(predicted, fresh.scores, fresh.prompts, fresh.pairs)
    on_fresh = choice_metrics(torch.tensor(predicted).view(len(fresh.best), -1), torch.tensor(fresh.best))
    return {"variant": name, "seed": seed, "fresh_acc": on_fresh["best_of_n_accuracy"], "fresh_labels": len(fresh.best),
            "spearman": rho, "pair_agree": alike, "pairs": compared, "train_s": seconds,
            "run_heldout_acc": metrics["best_of_n_accuracy"], "run_heldout_labels": metrics["labels"], "train_labels": metrics["train_labels"]}


# -- a tiny run for --quick -----------------------------------------------------------------------


def tiny_run(work: Path) -> Path:
    """The quick start's config on a tiny random model with 48 labels: a run directory like `make quickstart`'s, minus PPO."""
    from rlhf.config.run_config import load_config, write_run_config
    from rlhf.labeling.batches import sample_round
    from rlhf.labeling.simulated import simulate
    from rlhf.labeling.store import LabelStore
    from rlhf.models.tiny import save_tiny_model

    model = work / "tiny-model"
    if not model.is_dir():
        save_tiny_model(model, "gpt2", vocab_size=2048)
    config = load_config(str(ROOT / "configs" / "quickstart.yaml"),
                         [("model.name", str(model)), ("output_dir", str(work)), ("name", "tiny-quickstart"),
                          ("labeling.num_queries", 48), ("reward.normalize_samples", 16), ("reward.eval_fraction", 0.25)])
    write_run_config(config)
    store = LabelStore.for_run(config.run_dir)
    if store.count_batches() < 48:
        sample_round(config, store, 48 - store.count_batches(), log=lambda m: None)
    simulate(store, config.labeling.simulator, task=config.task, seed=0, progress=False)
    return config.run_dir


# -- printing -------------------------------------------------------------------------------------


def spread(values, fmt: str) -> str:
    values = list(values)
    return f"{fmt.format(statistics.median(values))} [{fmt.format(min(values))}, {fmt.format(max(values))}]"


def table(rows: list[dict], variants: list[str], fresh: FreshSet, run: Path) -> str:
    seeds = len({r["seed"] for r in rows})
    lines = [f"Variants trained on {run}'s labels, judged on fresh labels: {len(fresh.best)} Austen prompts the run never saw, "
             f"4 zero-shot samples each (base model {fresh.base_model}; no policy samples), labeler seed {fresh.labels_seed}. "
             f"Median [min, max] over {seeds} seed(s).",
             "",
             f"| variant | fresh best-of-4 (of {len(fresh.best)}; chance 25%, labeler's own score "
             f"{labeler_ceiling(fresh.scores, fresh.best):.1%}) | spearman (of {len(fresh.pairs)} samples) | "
             f"pair agree (of {rows[0]['pairs']}) | train s |",
             "|---|---|---|---|---|"]
    for name in variants:
        mine = [r for r in rows if r["variant"] == name]
        column = lambda key: [r[key] for r in mine]
        lines.append(f"| {name} | {spread(column('fresh_acc'), '{:.1%}')} | {spread(column('spearman'), '{:+.3f}')} | "
                     f"{spread(column('pair_agree'), '{:.1%}')} | {spread(column('train_s'), '{:.0f}')} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    import torch

    args = parse_args(argv)
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        run = tiny_run(work) if args.quick else Path(args.run)
        if not (run / "labels.db").is_file() or not (run / "config.yaml").is_file():
            sys.exit(f"{run} needs config.yaml and labels.db: run `make quickstart` (or `rlhf run`) first, or pass --quick")
        fresh = fresh_set(run, work / "fresh", args.eval_prompts, args.labels_seed)
        print(f"{run}: fresh evaluation set of {len(fresh.best)} labels, {len(fresh.pairs)} zero-shot samples")
        rows = []
        for name in args.variants:
            for seed in range(args.seeds):
                rows.append(measure(run, work / "variants", name, seed, fresh, args.quick))
                print(json.dumps(rows[-1]), flush=True)
        print()
        print(table(rows, args.variants, fresh, run))
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
