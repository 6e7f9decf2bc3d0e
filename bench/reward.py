"""Reward-model benchmark: our best-of-4 loss against TRL's RewardTrainer on the same labels.

Labels come from the real pipeline: queries cut from ../shared/data/stories/austen, four
continuations of each sampled from the base model, chosen by the simulated sentiment labeler at
its default (human-level agreement) temperature. Both trainers get the same backbone, the same
token ids, learning rate, epochs and held-out queries:
  (a) ours: softmax cross-entropy over each label's 4 rewards, 4 sequences per label;
  (b) TRL RewardTrainer on the 3 pairs each label implies, 6 sequences per label.
Each run is a separate process, so peak memory (RSS, or CUDA peak) is its own. Run i of --repeats
uses seed i (head initialisation and data order) for both methods: with a few hundred labels the
held-out accuracy moves by 20 points between seeds, so compare medians over seeds. Prints a table
of medians and the ratios (b)/(a); it never asserts on timings.

    python bench/reward.py --repeats 3   # offline default model (SmolLM2-135M), about 40 minutes on 2 cores
    python bench/reward.py --quick    # tiny random model, a minute
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path and its name would shadow the `reward` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
AUSTEN = ROOT.parent / "shared" / "data" / "stories" / "austen"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="Tiny random model, fewer labels.")
    p.add_argument("--model", default="smollm2-135m", help="Backbone (alias or directory).")
    p.add_argument("--labels", type=int, default=None, help="Labels to make (default 240; 400 quick).")
    p.add_argument("--repeats", type=int, default=None, help="Runs per method (default 1; 3 quick).")
    p.add_argument("--lr", type=float, default=None, help="Learning rate (default 5e-5, the paper's; 3e-3 quick).")
    p.add_argument("--batch-labels", type=int, default=4, help="Labels per update for both methods.")
    p.add_argument("--workdir", help="Keep data and models here (default: a temporary folder).")
    p.add_argument("--method", choices=["ours", "trl"], help=argparse.SUPPRESS)  # child process mode
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)  # run i of --repeats uses seed i
    p.add_argument("--data", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def make_labels(args, work: Path) -> Path:
    """Sample, label with sim:sentiment, and write the encoded train/eval choices to JSON."""
    from reward.data import choices_from_store, encode_choice, split_by_query
    from rlhf.config.run_config import load_config
    from rlhf.labeling.batches import sample_for_labeling
    from rlhf.labeling.simulated import simulate
    from rlhf.labeling.store import LabelStore
    from rlhf.models.loading import load_model_for
    from rlhf.tasks.queries import queries_for

    config = load_config(None, [("model.name", args.model), ("output_dir", str(work)), ("name", "bench"),
                                ("prompts.path", str(AUSTEN)), ("generation.batch_size", 16)])
    model, tokenizer = load_model_for(config)
    store = LabelStore.for_run(config.run_dir)
    queries = queries_for(config, tokenizer, "train")
    sample_for_labeling(config, store, model, tokenizer, queries, args.labels, log=lambda m: None)
    simulate(store, "sentiment", task=config.task, seed=0)
    train, held = split_by_query(choices_from_store(store), 0.2)
    encode = lambda cs: [encode_choice(tokenizer, c, 64, 24) for c in cs]
    path = work / "labels.json"
    path.write_text(json.dumps({"model": config.model.name, "train": encode(train), "eval": encode(held)}))
    return path


def peak_memory_mb() -> float:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def train_child(args) -> dict:
    """One training run in this process; prints its figures as JSON."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from reward.data import collate
    from reward.model import build_reward_model
    from reward.trainer import batch_rewards, choice_metrics
    from rlhf.models.loading import resolve
    from rlhf.models.tokenizer import load_tokenizer

    data = json.loads(Path(args.data).read_text())
    location = resolve(data["model"], log=lambda m: None)
    tokenizer = load_tokenizer(location, padding_side="right")
    start = time.perf_counter()
    torch.manual_seed(args.seed)  # the head's initialisation and the data order differ per repeat
    if args.method == "ours":
        model = build_reward_model(location, tokenizer, seed=args.seed)
        _train_ours(model, tokenizer, data["train"], args)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(location, num_labels=1)
        model.resize_token_embeddings(len(tokenizer))
        model.config.pad_token_id = tokenizer.pad_token_id
        _train_trl(model, tokenizer, data["train"], args)
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        batches = [collate(data["eval"][i : i + 8], tokenizer.pad_token_id) for i in range(0, len(data["eval"]), 8)]
        rewards = torch.cat([batch_rewards(model, b) for b in batches])
        best = torch.cat([b["best"] for b in batches])
    metrics = choice_metrics(rewards, best)
    return {"method": args.method, "seconds_per_label": seconds / len(data["train"]), "peak_mb": peak_memory_mb(),
            "best_of_4_accuracy": metrics["best_of_n_accuracy"], "pairwise_accuracy": metrics["pairwise_accuracy"],
            "train_labels": len(data["train"]), "eval_labels": len(data["eval"])}


def _trainer_args(args, out: str, batch: int, config_cls):
    import torch

    # The same precision and no gradient checkpointing for both: TRL's RewardConfig defaults to bf16
    # (which a CPU cannot run) and to gradient checkpointing (less memory, more compute).
    return config_cls(output_dir=out, bf16=torch.cuda.is_available(), gradient_checkpointing=False, num_train_epochs=1, learning_rate=args.lr, lr_scheduler_type="linear",
                      per_device_train_batch_size=batch, report_to="none", save_strategy="no", logging_steps=10,
                      seed=args.seed, dataloader_pin_memory=False, disable_tqdm=True)


def _train_ours(model, tokenizer, features, args) -> None:
    from transformers import TrainingArguments

    from reward.data import collate
    from reward.trainer import BestOfNTrainer, ChoiceDataset

    with tempfile.TemporaryDirectory() as out:
        targs = _trainer_args(args, out, args.batch_labels, TrainingArguments)
        targs.label_names, targs.remove_unused_columns = ["best"], False
        BestOfNTrainer(model=model, args=targs, train_dataset=ChoiceDataset(features),
                       data_collator=lambda f: collate(f, tokenizer.pad_token_id)).train()


def _train_trl(model, tokenizer, features, args) -> None:
    import datasets
    from trl import RewardConfig, RewardTrainer

    pairs = [{"chosen_ids": f["sequences"][f["best"]], "rejected_ids": s}
             for f in features for i, s in enumerate(f["sequences"]) if i != f["best"]]
    with tempfile.TemporaryDirectory() as out:
        # 3 pairs per label: the same labels per update as ours.
        targs = _trainer_args(args, out, 3 * args.batch_labels, RewardConfig)
        targs.max_length = None
        RewardTrainer(model=model, args=targs, train_dataset=datasets.Dataset.from_list(pairs),
                      processing_class=tokenizer).train()


def run_method(method: str, data: Path, args, seed: int) -> dict:
    cmd = [sys.executable, __file__, "--method", method, "--data", str(data), "--lr", str(args.lr),
           "--batch-labels", str(args.batch_labels), "--seed", str(seed)]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TRL_EXPERIMENTAL_SILENCE": "1"})
    if out.returncode != 0:
        sys.exit(f"{method} run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(results: dict[str, list[dict]]) -> None:
    from rich.console import Console
    from rich.table import Table

    med = {m: {k: statistics.median(r[k] for r in rs) for k in rs[0] if isinstance(rs[0][k], (int, float))}
           for m, rs in results.items()}
    table = Table(title=f"Reward model: best-of-4 loss vs TRL RewardTrainer (median of {len(results['ours'])} seeds)")
    for column in ("figure", "(a) ours, best-of-4", "(b) TRL, 3 pairs/label", "(b)/(a)", "target"):
        table.add_column(column)
    rows = [("held-out best-of-4 accuracy", "best_of_4_accuracy", "{:.1%}", "(a) >= (b)"),
            ("held-out pairwise accuracy", "pairwise_accuracy", "{:.1%}", ""),
            ("wall seconds per label", "seconds_per_label", "{:.3f}", "(a) <= 0.7 x (b)"),
            ("peak memory MB", "peak_mb", "{:.0f}", "")]
    for name, key, fmt, target in rows:
        a, b = med["ours"][key], med["trl"][key]
        table.add_row(name, fmt.format(a), fmt.format(b), f"{b / a:.2f}" if a else "-", target)
    Console(width=120).print(table)
    first = results["ours"][0]
    print(f"labels: {first['train_labels']} train, {first['eval_labels']} held out (chance 25% / 50%)")
    for method, runs in results.items():
        print(f"{method}: best-of-4 accuracy per seed " + ", ".join(f"{r['best_of_4_accuracy']:.1%}" for r in runs))


def main() -> None:
    args = parse_args()
    quick = args.quick
    args.labels = args.labels or (400 if quick else 240)
    args.repeats = args.repeats or (3 if quick else 1)
    args.lr = args.lr or (3e-3 if quick else 5e-5)
    if args.method:
        print(json.dumps(train_child(args)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir or tmp)
        if quick:
            from rlhf.models.tiny import save_tiny_model

            args.model = str(save_tiny_model(work / "tiny", "gpt2", vocab_size=2048))
        data = work / "labels.json" if (work / "labels.json").is_file() else make_labels(args, work)
        results = {"ours": [], "trl": []}
        for seed in range(args.repeats):  # seeds interleaved, so drifting machine load hits both methods
            for method in results:
                results[method].append(run_method(method, data, args, seed))
        report(results)


if __name__ == "__main__":
    main()
