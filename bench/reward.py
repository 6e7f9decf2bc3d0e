"""Reward-model benchmark: our best-of-4 loss against TRL's RewardTrainer on the same labels.

Labels come from the real pipeline: queries cut from ../shared/data/stories/austen, four
continuations of each sampled from the base model, chosen by the simulated sentiment labeler at
its default (human-level agreement) temperature. Both trainers train every weight of the same
backbone on the same token ids, with the same learning rate, epochs, labels per update and
held-out queries:
  (a) ours: softmax cross-entropy over each label's 4 rewards, 4 sequences per label;
  (b) TRL RewardTrainer on the 3 pairs each label implies, 6 sequences per label.
Each run is a separate process, so peak memory (RSS, or CUDA peak) is its own.

Seeds. Run i of --repeats (default 5) uses seed i for both methods: the held-out split (20% of the
queries), the head's initialisation and the data order. Every figure is printed as the median over
seeds and the [min, max] range over seeds. For N seeds that range is a distribution-free confidence
interval for the median of 1 - 2^(1-N) (93.8% for 5 seeds, 75% for 3): the median lies below the
smallest of N independent draws, or above the largest, with probability 2^-N each. Ratios and
differences between the methods are taken per seed (same split, same seed), then summarised the
same way. Beside the two methods: "chance", a random reward on the same held-out labels (25% best-of-4,
50% pairwise in expectation; its range shows how much the held-out set alone moves a figure), and
"labeler score", the simulated labeler's own noiseless score as the reward (ties split), the ceiling
that its noise leaves any reward model.

Recipe. The paper's recipe (lr 5e-5, one epoch) on 240 labels left both methods near chance on
SmolLM2-135M (48 updates of 4 labels barely move a randomly initialised head), where a speed figure
"at equal accuracy" means nothing. The defaults are 600 labels (about 480 to train on, 120 held
out per seed), one epoch, lr 1e-4, 4 labels per update: 2.5 times the labels and twice the
learning rate, 120 updates, about 5 times the paper recipe's total step size. This is a reasoned
choice, not yet a measured one: the printout checks it ("full training beats chance: met" needs
the lower end of a method's best-of-4 range above 25%). If it is not met, rerun with --epochs 2
or --labels 1000 (time grows in proportion to labels x epochs).

Verdicts are computed from the figures against the targets named below (SPEED_TARGET,
ACCURACY_MARGIN, CHANCE_BEST_OF_4), never written by hand:
  speed                 TRL's seconds per label / ours, per seed: met when the range's lower end >= SPEED_TARGET;
  beats chance          per method: met when its best-of-4 range's lower end > 25%;
  no difference shown   ours - TRL best-of-4 per seed: met when the range includes 0 and both methods beat
                        chance (two models that learned nothing are "equal" without telling anything);
  equivalent            the same difference's range lies inside +-ACCURACY_MARGIN (a tighter claim).

    python bench/reward.py --repeats 1 --workdir /tmp/rbench   # probe: does the recipe learn? about 40 minutes
    python bench/reward.py --workdir /tmp/rbench   # SmolLM2-135M, 600 labels, 5 seeds: about 2.5-3 hours on 2 idle cores
    python bench/reward.py --quick    # tiny random model, 200 labels, 3 seeds: 5-10 minutes on 2 busy cores; plumbing only
With --workdir, each finished run's figures are kept under <workdir>/runs/<recipe>/, and a rerun
with the same recipe reuses them: a bench stopped after three seeds resumes at the fourth.
(The estimates scale the earlier default, 240 labels and 3 seeds in 40 minutes, to 480 training
labels x 5 seeds, plus about 10 minutes of sampling; the same --workdir reuses the probe's labels.
A loaded machine takes longer.)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path and its name would shadow the `reward` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
# ../shared/data, or where RLHF_SHARED_DATA says (bench/gpu.sh: the copy it carries to a GPU machine).
AUSTEN = Path(os.environ.get("RLHF_SHARED_DATA") or ROOT.parent / "shared" / "data") / "stories" / "austen"

# Targets the verdicts are computed against.
SPEED_TARGET = 2.0  # ours at least this many times faster per label than TRL (the README's claim rests on this)
ACCURACY_MARGIN = 0.05  # "equivalent": ours - TRL held-out best-of-4 within +-5 points
CHANCE_BEST_OF_4 = 0.25  # a random reward picks the labeler's choice 1 time in 4
CHANCE_PAIRWISE = 0.5
EVAL_FRACTION = 0.2  # share of queries held out, drawn afresh for each seed

DEFAULTS = {"labels": 600, "epochs": 1.0, "lr": 1e-4, "repeats": 5}  # SmolLM2-135M: see "Recipe" above
QUICK = {"labels": 200, "epochs": 1.0, "lr": 3e-3, "repeats": 3}  # tiny random model: plumbing only


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="Tiny random model, 3 seeds: checks the plumbing.")
    p.add_argument("--model", default="smollm2-135m", help="Backbone (alias or directory).")
    p.add_argument("--labels", type=int, default=None, help=f"Labels to make (default {DEFAULTS['labels']}; {QUICK['labels']} quick).")
    p.add_argument("--epochs", type=float, default=None, help=f"Passes over the training labels (default {DEFAULTS['epochs']:g}).")
    p.add_argument("--lr", type=float, default=None, help=f"Peak learning rate, linear decay (default {DEFAULTS['lr']:g}; {QUICK['lr']:g} quick).")
    p.add_argument("--repeats", type=int, default=None, help=f"Seeds per method (default {DEFAULTS['repeats']}; {QUICK['repeats']} quick).")
    p.add_argument("--batch-labels", type=int, default=4, help="Labels per update for both methods.")
    p.add_argument("--workdir", help="Keep labels and each finished run's figures here (default: a temporary folder); "
                   "a rerun with the same recipe reuses them, so a stopped bench resumes.")
    p.add_argument("--json", help="Also write every run's figures here.")
    p.add_argument("--method", choices=["ours", "trl"], help=argparse.SUPPRESS)  # child process mode
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)  # run i of --repeats uses seed i
    p.add_argument("--data", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    for key, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


# -- intervals and verdicts (pure functions) ------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """The median of per-seed figures and their [min, max] range."""

    median: float
    low: float
    high: float
    n: int

    def format(self, fmt: str = "{:.1%}") -> str:
        return f"{fmt.format(self.median)} [{fmt.format(self.low)}, {fmt.format(self.high)}]"


def interval(values) -> Interval:
    values = [float(v) for v in values]
    if not values:
        raise ValueError("an interval needs at least one value")
    return Interval(statistics.median(values), min(values), max(values), len(values))


def range_confidence(n: int) -> float:
    """Coverage of [min, max] of n draws as an interval for the median: 1 - 2 * 2^-n."""
    return 1 - 2.0 ** (1 - n)


def paired(a: list[float], b: list[float], op) -> list[float]:
    if len(a) != len(b):
        raise ValueError(f"paired figures need one per seed on both sides, got {len(a)} and {len(b)}")
    return [op(x, y) for x, y in zip(a, b)]


@dataclass(frozen=True)
class Verdict:
    name: str
    met: bool
    detail: str

    def __str__(self) -> str:
        return f"{self.name}: {'met' if self.met else 'not met'} ({self.detail})"


def speed_verdict(ratio: Interval, target: float = SPEED_TARGET) -> Verdict:
    """`ratio`: TRL's seconds per label / ours, per seed. Met when even the slowest seed's ratio reaches the target."""
    met = ratio.low >= target
    detail = (f"TRL's seconds per label / ours {ratio.median:.2f}x, range [{ratio.low:.2f}, {ratio.high:.2f}]; "
              f"met when the range's lower end is >= {target:g}x")
    return Verdict("speed", met, detail)


def chance_verdict(method: str, accuracy: Interval, chance: float = CHANCE_BEST_OF_4) -> Verdict:
    met = accuracy.low > chance
    return Verdict(f"full training beats chance, {method}", met,
                   f"held-out best-of-4 {accuracy.format()}; met when the lower end is above {chance:.0%}")


def no_difference_verdict(difference: Interval, both_beat_chance: bool) -> Verdict:
    """Equal within noise: the per-seed difference's range includes 0, and both models learned something."""
    includes_zero = difference.low <= 0 <= difference.high
    detail = f"ours - TRL best-of-4 {_points(difference)}, "
    detail += "includes 0" if includes_zero else "excludes 0"
    if not both_beat_chance:
        detail += "; but not both methods beat chance, so equal accuracy would say nothing"
    return Verdict("accuracy equal within noise", includes_zero and both_beat_chance, detail)


def equivalence_verdict(difference: Interval, margin: float = ACCURACY_MARGIN) -> Verdict:
    met = -margin <= difference.low and difference.high <= margin
    return Verdict(f"accuracy equivalent within +-{margin * 100:g} points", met,
                   f"ours - TRL best-of-4 {_points(difference)}; met when the range lies inside [-{margin * 100:g}, +{margin * 100:g}]")


def _points(i: Interval) -> str:
    return f"{i.median * 100:+.1f} points, range [{i.low * 100:+.1f}, {i.high * 100:+.1f}]"


def summarize(results: dict[str, list[dict]]) -> dict:
    """Per-figure intervals of each method, the per-seed comparisons, and the verdicts."""
    ours, trl = results["ours"], results["trl"]
    if [r["seed"] for r in ours] != [r["seed"] for r in trl]:
        raise ValueError("ours and TRL must be run on the same seeds, in the same order")
    column = lambda runs, key: [r[key] for r in runs]
    figures = {m: {k: interval(column(rs, k)) for k in ("best_of_4_accuracy", "pairwise_accuracy", "seconds_per_label", "peak_mb")}
               for m, rs in results.items()}
    for name in ("chance", "labeler"):
        figures[name] = {k: interval(column(ours, f"{name}_{k}")) for k in ("best_of_4_accuracy", "pairwise_accuracy")}
    speed = interval(paired(column(trl, "seconds_per_label"), column(ours, "seconds_per_label"), lambda t, o: t / o))
    memory = interval(paired(column(ours, "peak_mb"), column(trl, "peak_mb"), lambda o, t: o / t))
    difference = interval(paired(column(ours, "best_of_4_accuracy"), column(trl, "best_of_4_accuracy"), lambda o, t: o - t))
    beats = {m: chance_verdict(label, figures[m]["best_of_4_accuracy"]) for m, label in (("ours", "ours"), ("trl", "TRL"))}
    verdicts = [speed_verdict(speed), beats["ours"], beats["trl"],
                no_difference_verdict(difference, beats["ours"].met and beats["trl"].met), equivalence_verdict(difference)]
    return {"figures": figures, "speed_ratio": speed, "memory_ratio": memory, "accuracy_difference": difference, "verdicts": verdicts}


def split_records(records: list[dict], seed: int) -> tuple[list[dict], list[dict]]:
    """Seed `seed`'s split of the labels: whole queries held out, as `rlhf train-reward` does."""
    from reward.data import split_by_query

    train, held = split_by_query([SimpleNamespace(query_id=r["query_id"], record=r) for r in records], EVAL_FRACTION, seed)
    return [c.record for c in train], [c.record for c in held]


def tie_split_metrics(scores: list[list[float]], best: list[int]) -> dict:
    """Best-of-4 and pairwise accuracy of a reward equal to `scores`, ties split evenly (the labeler's ceiling)."""
    best_hits, pair_hits, pairs = 0.0, 0.0, 0
    for row, chosen in zip(scores, best):
        top = max(row)
        if row[chosen] == top:
            best_hits += 1 / row.count(top)
        for i, s in enumerate(row):
            if i != chosen:
                pair_hits += 1.0 if row[chosen] > s else 0.5 if row[chosen] == s else 0.0
                pairs += 1
    return {"best_of_4_accuracy": best_hits / len(best), "pairwise_accuracy": pair_hits / max(pairs, 1)}


def reference_metrics(held: list[dict], seed: int) -> dict:
    """Chance (a seeded random reward) and the labeler's own score, on this seed's held-out labels."""
    rng = random.Random(seed)
    best = [r["best"] for r in held]
    chance = tie_split_metrics([[rng.random() for _ in r["sequences"]] for r in held], best)
    labeler = tie_split_metrics([r["scores"] for r in held], best)
    return {**{f"chance_{k}": v for k, v in chance.items()}, **{f"labeler_{k}": v for k, v in labeler.items()}}


# -- data and training ----------------------------------------------------------------------------


def make_labels(args, work: Path) -> Path:
    """Sample, label with sim:sentiment, and write every label's token ids and labeler scores to JSON."""
    from reward.data import choices_from_store, encode_choice
    from rlhf.config.run_config import load_config
    from rlhf.labeling.batches import sample_for_labeling
    from rlhf.labeling.simulated import scorer, simulate
    from rlhf.labeling.store import LabelStore
    from rlhf.models.loading import load_model_for
    from rlhf.tasks.queries import queries_for

    config = load_config(None, [("model.name", args.model), ("output_dir", str(work)), ("name", "bench"),
                                ("prompts.path", str(AUSTEN)), ("generation.batch_size", 16)])
    model, tokenizer = load_model_for(config)
    store = LabelStore.for_run(config.run_dir)
    queries = queries_for(config, tokenizer, "train")
    sample_for_labeling(config, store, model, tokenizer, queries, args.labels, log=lambda m: None)
    simulate(store, "sentiment", task=config.task, seed=0, progress=False)
    score = scorer("sentiment")
    records = [{**encode_choice(tokenizer, c, 64, 24), "query_id": c.query_id,
                "scores": [score(c.query, s, None) for s in c.samples]} for c in choices_from_store(store)[: args.labels]]
    path = work / "labels.json"
    path.write_text(json.dumps({"model": config.model.name, "labels": args.labels, "records": records}))
    return path


def labels_file(args, work: Path) -> Path:
    """The workdir's labels, when they are this many of this model's; else new ones."""
    path = work / "labels.json"
    if path.is_file():
        data = json.loads(path.read_text())
        if data.get("labels") == args.labels and data.get("model") == args.model and "records" in data:
            return path
    return make_labels(args, work)


def peak_memory_mb() -> float:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def train_child(args) -> dict:
    """One training run in this process; returns its figures."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from reward.data import collate
    from reward.model import build_reward_model
    from reward.trainer import batch_rewards, choice_metrics
    from rlhf.models.loading import resolve
    from rlhf.models.tokenizer import load_tokenizer

    data = json.loads(Path(args.data).read_text())
    train, held = split_records(data["records"], args.seed)
    location = resolve(data["model"], log=lambda m: None)
    tokenizer = load_tokenizer(location, padding_side="right")
    start = time.perf_counter()
    torch.manual_seed(args.seed)  # the head's initialisation and the data order differ per repeat
    if args.method == "ours":
        model = build_reward_model(location, tokenizer, seed=args.seed)
        _train_ours(model, tokenizer, train, args)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(location, num_labels=1)
        model.resize_token_embeddings(len(tokenizer))
        model.config.pad_token_id = tokenizer.pad_token_id
        _train_trl(model, tokenizer, train, args)
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        batches = [collate(held[i : i + 8], tokenizer.pad_token_id) for i in range(0, len(held), 8)]
        rewards = torch.cat([batch_rewards(model, b) for b in batches])
        best = torch.cat([b["best"] for b in batches])
    metrics = choice_metrics(rewards, best)
    return {"method": args.method, "seed": args.seed, "seconds_per_label": seconds / (len(train) * args.epochs),
            "peak_mb": peak_memory_mb(), "best_of_4_accuracy": metrics["best_of_n_accuracy"],
            "pairwise_accuracy": metrics["pairwise_accuracy"], "train_labels": len(train), "eval_labels": len(held),
            **reference_metrics(held, args.seed)}


def _trainer_args(args, out: str, batch: int, config_cls):
    import torch

    # The same precision and no gradient checkpointing for both: TRL's RewardConfig defaults to bf16
    # (which a CPU cannot run) and to gradient checkpointing (less memory, more compute).
    return config_cls(output_dir=out, bf16=torch.cuda.is_available(), gradient_checkpointing=False, num_train_epochs=args.epochs,
                      learning_rate=args.lr, lr_scheduler_type="linear", per_device_train_batch_size=batch, report_to="none",
                      save_strategy="no", logging_steps=10, seed=args.seed, dataloader_pin_memory=False, disable_tqdm=True)


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


def run_file(work: Path, method: str, args, seed: int) -> Path:
    """Where one run's figures are kept: named by everything that changes them, so a rerun reuses only its own."""
    recipe = f"{Path(args.model).name}-{args.labels}l-{args.epochs:g}e-{args.lr:g}lr-{args.batch_labels}b"
    return work / "runs" / recipe / f"{method}-seed{seed}.json"


def run_or_reuse(method: str, data: Path, args, seed: int, work: Path) -> dict:
    """A finished run's figures from the workdir, else a new run kept there: a stopped bench resumes per run."""
    path = run_file(work, method, args, seed)
    if path.is_file():
        print(f"{method} seed {seed}: reusing {path}", flush=True)
        return json.loads(path.read_text())
    figures = run_method(method, data, args, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures))
    print(f"{method} seed {seed}: best-of-4 {figures['best_of_4_accuracy']:.1%}, "
          f"{figures['seconds_per_label']:.3f} s/label", flush=True)
    return figures


def run_method(method: str, data: Path, args, seed: int) -> dict:
    cmd = [sys.executable, __file__, "--method", method, "--data", str(data), "--lr", str(args.lr), "--epochs", str(args.epochs),
           "--batch-labels", str(args.batch_labels), "--seed", str(seed)]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TRL_EXPERIMENTAL_SILENCE": "1"})
    if out.returncode != 0:
        sys.exit(f"{method} run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- printing -------------------------------------------------------------------------------------


def report(results: dict[str, list[dict]], args) -> dict:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    summary = summarize(results)
    figures, n = summary["figures"], len(results["ours"])
    table = Table(title=escape(f"Reward model: best-of-4 loss vs TRL RewardTrainer, every weight trained "
                        f"(median [min, max] over {n} seeds)"))
    for column in ("figure", "(a) ours, best-of-4", "(b) TRL, 3 pairs/label", "chance (random reward)", "labeler's own score"):
        table.add_column(column)
    rows = [("held-out best-of-4 accuracy", "best_of_4_accuracy", "{:.1%}"),
            ("held-out pairwise accuracy", "pairwise_accuracy", "{:.1%}"),
            ("wall seconds per label and epoch", "seconds_per_label", "{:.3f}"),
            ("peak memory MB", "peak_mb", "{:.0f}")]
    for name, key, fmt in rows:
        cells = [figures[m][key].format(fmt) if key in figures[m] else "-" for m in ("ours", "trl", "chance", "labeler")]
        table.add_row(name, *map(escape, cells))
    Console(width=160).print(table)
    train = interval(r["train_labels"] for r in results["ours"])
    held = interval(r["eval_labels"] for r in results["ours"])
    print(f"recipe: {args.labels} labels ({train.low:.0f}-{train.high:.0f} train, {held.low:.0f}-{held.high:.0f} held out per seed), "
          f"{args.epochs:g} epoch(s), lr {args.lr:g}, {args.batch_labels} labels per update")
    print(f"[min, max] over {n} seeds is a {range_confidence(n):.1%} confidence interval for the median "
          f"(distribution-free); seed i sets the split, the head and the data order")
    for method, runs in results.items():
        print(f"{method}: best-of-4 accuracy per seed " + ", ".join(f"{r['best_of_4_accuracy']:.1%}" for r in runs))
    print(f"memory: ours / TRL peak {summary['memory_ratio'].format('{:.2f}x')} (no target)")
    print("verdicts:")
    for verdict in summary["verdicts"]:
        print(f"  {verdict}")
    return summary


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.method:
        print(json.dumps(train_child(args)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        if args.quick:
            from rlhf.models.tiny import save_tiny_model

            args.model = str(save_tiny_model(work / "tiny", "gpt2", vocab_size=2048))
        data = labels_file(args, work)
        results = {"ours": [], "trl": []}
        for seed in range(args.repeats):  # seeds interleaved, so drifting machine load hits both methods
            for method in results:
                results[method].append(run_or_reuse(method, data, args, seed, work))
        report(results, args)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
