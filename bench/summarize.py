"""The paper's summarisation comparison, measured: zero-shot, supervised, RL and supervised + RL per round.

Runs `rlhf run --rounds N` on configs/summarize_dialogsum.yaml (DialogSum dialogues from
../shared/data, the offline default model, simulated ROUGE labels at human-level noise) and prints
one table, as Ziegler et al. 2019 (section 4.2, Table 4) report theirs: per system, the win rate
against zero-shot and against the supervised model by the simulated labeler and by the reward model
(a proxy: the policies were trained on it), each a share of held-out documents with a 95% Wilson
interval; ROUGE-1/2/L against the references; the copying statistics (novel sentences, sentences
copied from the lead, fully copied summaries, novel trigrams, against the whole document); length.
Then each stage's wall time, and the targets as computed verdicts (met / not met):

  supervised + RL (last round) preferred to supervised by the labeler, interval above 50%
  supervised + RL (last round) ROUGE-L at least the supervised model's
  RL preferred to zero-shot by the labeler, interval above 50%

    python bench/summarize.py                         # the real comparison, 2 rounds (runs under --workdir)
    python bench/summarize.py --quick                 # tiny random model, shipped demo documents: plumbing only
    python bench/summarize.py --rounds 1 --set policy.total_episodes=64

Every run directory is kept under --workdir, so an interrupted bench resumes where it stopped
(finished stages are skipped, and then report no time of their own).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
DIALOGSUM = ROOT.parent / "shared" / "data" / "summarization" / "dialogsum.dev.jsonl"
QUICK = [("prompts.kind", "demo"), ("prompts.path", "documents"), ("prompts.fields", {}), ("prompts.id_field", None),
         ("prompts.eval_fraction", 0.3), ("task.query_length", 48), ("task.response_length", 8),
         ("task.truncate_after", 2), ("sft.cut_long_references", True), ("labeling.num_queries", 12), ("sft.batch_size", 4), ("sft.learning_rate", 3e-3),
         ("reward.normalize_samples", 8), ("reward.backbone_layers", 1), ("policy.batch_size", 4),
         ("policy.total_episodes", 8), ("evaluation.num_queries", 6), ("evaluation.batch_size", 4)]
STAGE_ORDER = ("sft", "sample", "label", "reward", "policy", "evaluate", "report")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(ROOT / "configs" / "summarize_dialogsum.yaml"), help="Run config.")
    p.add_argument("--rounds", type=int, default=2, help="Rounds of online collection (round r samples round r-1's policy).")
    p.add_argument("--workdir", default="/tmp/summarize", help="Where the runs live (kept: a rerun resumes).")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="Override a config key (YAML value), e.g. policy.total_episodes=64; repeatable.")
    p.add_argument("--quick", action="store_true", help="Tiny random model on the shipped demo documents: plumbing only.")
    p.add_argument("--json", help="Also write the rows, stage times and verdicts here.")
    return p.parse_args(argv)


def overrides(args) -> list[tuple[str, object]]:
    pairs = [("output_dir", args.workdir)]
    if args.quick:
        from rlhf.models.tiny import save_tiny_model

        model = save_tiny_model(Path(args.workdir) / "tiny-llama", "llama")
        pairs += [("model.name", str(model)), *QUICK]
    for item in args.set:
        key, _, value = item.partition("=")
        pairs.append((key, yaml.safe_load(value)))
    return pairs


def run(args) -> tuple[list, dict]:
    """The round configs (round 0 first) and each (round, stage)'s seconds."""
    from rlhf.config.rounds import round_config
    from rlhf.config.run_config import load_config
    from rlhf.pipeline import run_loop

    config = load_config(args.config, overrides(args))
    timings = {}
    if not run_loop(config, rounds=args.rounds, log=lambda m: print(m, file=sys.stderr), timings=timings):
        raise SystemExit("the run stopped to wait for human labels: set labeling.simulator")
    return [round_config(config, r) for r in range(args.rounds)], timings


def _metrics(config) -> dict:
    return json.loads((config.layout.eval / "metrics.json").read_text(encoding="utf-8"))


def systems(rounds: list) -> list[tuple[str, dict, str]]:
    """(row name, the evaluation it is read from, its system name there), in the paper's order."""
    first = _metrics(rounds[0])
    rows = [("zero-shot", first, "zero-shot"), ("supervised", first, "supervised")]
    if "rl" in first["summaries"]:
        rows.append(("RL", first, "rl"))
    rows += [(f"supervised + RL, round {r}", _metrics(config), "policy") for r, config in enumerate(rounds)]
    rows += [(name, first, name) for name in first["summaries"] if name.startswith("lead-") or name == "reference"]
    return rows


def _rate(metrics: dict, baseline: str, judge: str, system: str):
    table = metrics["judges"] if baseline == "zero-shot" else metrics.get("against", {}).get(baseline, {})
    return table.get(judge, {}).get(system)


def row(name: str, metrics: dict, system: str, labeler: str) -> dict:
    s = metrics["summaries"][system]
    figures = {"system": name, "n": metrics["queries"]}
    for baseline in ("zero-shot", "supervised"):
        for judge, key in ((labeler, "labeler"), ("reward_model", "rm")):
            figures[f"{key} vs {baseline}"] = _rate(metrics, baseline, judge, system)
    copied = s["copied_sentences"]
    figures.update({"rouge1": s["rouge1"], "rouge2": s["rouge2"], "rougeL": s["rougeL"],
                    "novel_sentences": None if copied is None else 1 - copied, "copied_lead": s["copied_lead"],
                    "fully_copied": s["fully_copied"], "novel_trigrams": s["novel_trigrams"], "words": s["length_words"]})
    return figures


def verdicts(rows: list[dict]) -> list[tuple[str, bool]]:
    by_name = {r["system"]: r for r in rows}
    last = [r for r in rows if r["system"].startswith("supervised + RL")][-1]
    supervised, rl = by_name["supervised"], by_name.get("RL")
    checks = []
    rate = last["labeler vs supervised"]
    checks.append((f"{last['system']} preferred to supervised by the labeler, interval above 50%",
                   bool(rate and rate["low"] > 0.5)))
    checks.append((f"{last['system']} ROUGE-L at least the supervised model's",
                   last["rougeL"] is not None and supervised["rougeL"] is not None and last["rougeL"] >= supervised["rougeL"]))
    if rl is not None:
        rate = rl["labeler vs zero-shot"]
        checks.append(("RL preferred to zero-shot by the labeler, interval above 50%", bool(rate and rate["low"] > 0.5)))
    return checks


def _cell(rate) -> str:
    return "-" if rate is None else f"{rate['win_rate']:.1%} [{rate['low']:.1%}, {rate['high']:.1%}]"


def _share(value) -> str:
    return "-" if value is None else f"{value:.1%}"


def print_tables(rows: list[dict], timings: dict, checks: list, n: int) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=240)
    table = Table(title=f"Summaries of {n} held-out documents: win rates (share of documents, 95% Wilson interval), "
                        "ROUGE, copying (against the whole document)")
    columns = ("system", "labeler vs zero-shot", "RM vs zero-shot", "labeler vs supervised", "RM vs supervised",
               "R-1 / R-2 / R-L", "novel sentences", "copied from lead", "fully copied", "novel trigrams", "words")
    for column in columns:
        table.add_column(column, justify="left" if column == "system" else "right")
    for r in rows:
        rouge = "-" if r["rouge1"] is None else f"{r['rouge1']:.3f} / {r['rouge2']:.3f} / {r['rougeL']:.3f}"
        table.add_row(r["system"], _cell(r["labeler vs zero-shot"]), _cell(r["rm vs zero-shot"]),
                      _cell(r["labeler vs supervised"]), _cell(r["rm vs supervised"]), rouge,
                      _share(r["novel_sentences"]), _share(r["copied_lead"]), _share(r["fully_copied"]),
                      _share(r["novel_trigrams"]), f"{r['words']:.1f}")
    console.print(table)
    rounds = sorted({r for r, _ in timings})
    times = Table(title="Wall time per stage, seconds (a stage finished by an earlier run shows ~0)")
    for column in ("round", *STAGE_ORDER, "total"):
        times.add_column(column, justify="right")
    for r in rounds:
        seconds = [timings.get((r, stage), 0.0) for stage in STAGE_ORDER]
        times.add_row(str(r), *(f"{s:.0f}" for s in seconds), f"{sum(seconds):.0f}")
    console.print(times)
    print(f"total: {sum(timings.values()) / 60:.1f} min")
    for text, met in checks:
        print(f"target: {text}: {'met' if met else 'not met'}")
    print("RM: the reward model of the row's round. Paper (CNN/DM, TL;DR): RL-only policies copy (novel sentences "
          "2.5% / 29.0%), supervised + RL less so (69.6% / 94.0%), zero-shot 91.7% (CNN/DM).")


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.quick and not DIALOGSUM.is_file() and args.config.endswith("summarize_dialogsum.yaml"):
        sys.exit(f"{DIALOGSUM} is missing: the comparison reads DialogSum from ../shared/data")
    started = time.time()
    rounds, timings = run(args)
    labeler = f"simulated:{rounds[0].task.labeler}"
    rows = [row(name, metrics, system, labeler) for name, metrics, system in systems(rounds)]
    checks = verdicts(rows)
    print_tables(rows, timings, checks, rows[0]["n"])
    print(f"bench wall time: {(time.time() - started) / 60:.1f} min")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "verdicts": checks,
                                               "stage_s": {f"{r}/{s}": t for (r, s), t in timings.items()}}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
