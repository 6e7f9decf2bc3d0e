"""The paper's mock sentiment experiment: win rate against zero-shot per label budget.

For each label budget, a fresh run of the whole loop (`rlhf run` stages): sample best-of-4 batches
from the base model on Austen excerpts (../shared/data), label them with the simulated sentiment
labeler at its default noise (set near human agreement), train the reward model, run PPO, and
evaluate on held-out excerpts judged by the simulated labeler. Ziegler et al. reached 88%
preferred over zero-shot with 5,000 human labels (2M PPO episodes on GPT-2, on GPUs).

    python bench/mock_sentiment.py                            # budgets 250 1000 2500 on the offline default
    python bench/mock_sentiment.py --budgets 250 --episodes 192
    python bench/mock_sentiment.py --config configs/mock_sentiment_gpu.yaml   # paper-sized, for a GPU
    python bench/mock_sentiment.py --quick                    # tiny random model: checks the plumbing
    python bench/mock_sentiment.py --budgets 250 --reward both   # plus PPO scored by the labeler itself

`--reward simulated` (or `both`) adds a row where PPO is scored by the simulated labeler itself
(`policy.reward: simulated`, no labels, no reward model): how far PPO gets in the same number of
episodes with a perfect reward, the bound every label budget's row is measured against.

Each budget's run directory is kept under --workdir, so an interrupted bench resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
AUSTEN = ROOT.parent / "shared" / "data" / "stories" / "austen"
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(ROOT / "configs" / "mock_sentiment.yaml"), help="Base run config.")
    p.add_argument("--budgets", type=int, nargs="+", default=[250, 1000, 2500], help="Label budgets, one run each.")
    p.add_argument("--episodes", type=int, help="PPO episodes per run (default: the config's policy.total_episodes).")
    p.add_argument("--model", help="Base model (default: the config's).")
    p.add_argument("--workdir", default="/tmp/mock_sentiment", help="Where the runs live (kept: a rerun resumes).")
    p.add_argument("--quick", action="store_true", help="Tiny random model, budgets 8 and 16: checks the plumbing only.")
    p.add_argument("--reward", choices=["model", "simulated", "both"], default="model",
                   help="model: a reward model per label budget; simulated: one run scored by the labeler itself; both.")
    return p.parse_args(argv)


def overrides_for(args, budget: int) -> list[tuple[str, object]]:
    """A budget of 0 labels is the run scored by the simulated labeler itself."""
    pairs = [("name", f"mock-{budget}" if budget else "mock-labeler-reward"), ("output_dir", args.workdir),
             ("labeling.simulator", "sentiment"), ("prompts.path", str(AUSTEN))]
    if budget:
        pairs.append(("labeling.num_queries", budget))
    if not budget:
        pairs.append(("policy.reward", "simulated"))
    if args.episodes:
        pairs.append(("policy.total_episodes", args.episodes))
    if args.model:
        pairs.append(("model.name", args.model))
    if args.quick:
        pairs += [("task.query_length", 16), ("task.response_length", 8), ("task.truncate_after", 2),
                  ("policy.batch_size", 4), ("policy.total_episodes", 8), ("reward.normalize_samples", 8),
                  ("evaluation.num_queries", 8), ("evaluation.samples_per_query", 2), ("task.truncate_field", "text"),
                  ("reward.backbone_layers", 1)]  # the tiny model has 2 layers
    return pairs


def run_budget(args, budget: int) -> dict:
    from rlhf.config.run_config import load_config
    from rlhf.pipeline import run_loop

    config = load_config(args.config, overrides_for(args, budget))
    timings = {}
    started = time.time()
    stages = ("sample", "label", "reward", "policy", "evaluate") if budget else ("policy", "evaluate")
    run_loop(config, stages=stages, log=lambda m: print(m, file=sys.stderr), timings=timings)
    return figures(config, budget, {stage: seconds for (_, stage), seconds in timings.items()}, time.time() - started)


def figures(config, budget: int, seconds: dict, wall: float) -> dict:
    reward = json.loads((config.layout.reward_model / "metrics.json").read_text()) if budget else NO_REWARD_MODEL
    policy = json.loads((config.layout.policy / "metrics.json").read_text())
    metrics = json.loads((config.layout.eval / "metrics.json").read_text())
    judge = f"simulated:{config.task.labeler}"
    rate = metrics["judges"][judge]["policy"]
    means = metrics["mean_scores"][judge]
    return {"budget": budget, "labels": reward["train_labels"] + reward["labels"], "held_out": reward["labels"], "rm_best_of_4": reward["best_of_n_accuracy"],
            "rm_pairwise": reward["pairwise_accuracy"], "episodes": policy["episodes"],
            "final_kl": policy["last"]["objective/kl"], "win_rate": rate["win_rate"], "low": rate["low"], "high": rate["high"],
            "prompts": rate["n"], "score_zero_shot": means["zero-shot"], "score_policy": means["policy"],
            "wall_s": wall, "stage_s": seconds}


NO_REWARD_MODEL = {"train_labels": 0, "labels": 0, "best_of_n_accuracy": None, "pairwise_accuracy": None}


def _reward_cell(r: dict) -> str:
    if r["rm_best_of_4"] is None:
        return "the labeler itself"
    return f"{r['rm_best_of_4']:.1%} ({r['rm_pairwise']:.1%})"


def print_table(rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Mock sentiment experiment: policy vs zero-shot, judged by the simulated labeler")
    for column in ("labels (held out)", "RM best-of-4 (pairwise)", "PPO episodes", "final KL", "win rate [95%]", "prompts",
                   "VADER zero-shot -> policy", "wall (sample/label/RM/PPO/eval)"):
        table.add_column(column, justify="right")
    for r in rows:
        stages = "/".join(f"{r['stage_s'].get(s, 0):.0f}" for s in ("sample", "label", "reward", "policy", "evaluate"))
        table.add_row(f"{r['labels']} ({r['held_out']})", _reward_cell(r), str(r["episodes"]),
                      f"{r['final_kl']:.2f}", f"{r['win_rate']:.1%} [{r['low']:.1%}, {r['high']:.1%}]", str(r["prompts"]),
                      f"{r['score_zero_shot']:+.3f} -> {r['score_policy']:+.3f}", f"{r['wall_s'] / 60:.1f} min ({stages} s)")
    Console(width=200).print(table)
    print("Paper (Ziegler et al. 2019, Figure 2): 5,000 human labels, 2M episodes on GPT-2: 88% preferred to zero-shot. "
          "Rerun stages are skipped, so a resumed bench reports only the stages it ran.")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.quick:
        from rlhf.models.tiny import save_tiny_model

        args.model = str(save_tiny_model(Path(args.workdir) / "tiny-llama", "llama"))
        args.budgets = [8, 16]
    elif not AUSTEN.is_dir():
        sys.exit(f"{AUSTEN} is missing: the bench reads Austen's novels from ../shared/data")
    budgets = ([] if args.reward == "simulated" else args.budgets) + ([0] if args.reward != "model" else [])
    rows = [run_budget(args, budget) for budget in budgets]
    print_table(rows)
    out = Path(args.workdir) / "mock_sentiment.json"
    out.write_text(json.dumps(rows, indent=2))
    print(f"figures also in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
