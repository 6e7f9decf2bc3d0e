"""Subcommands of the reward stage: train-reward and score."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rlhf.cli.output import log
from rlhf.config.run_config import check_run_dir, load_config
from rlhf.errors import DataError, RLHFError


def register(sub) -> None:
    p = sub.add_parser("train-reward", help="Train the reward model on the run's best-of-n labels.")
    p.add_argument("--config", required=True, help="Run config YAML.")
    p.add_argument("--labels", dest="reward.labels", metavar="FILE", help="Train on a best_of_4.jsonl export instead of the store.")
    p.add_argument("--overwrite", action="store_true", help="Train again over a finished reward model.")
    p.set_defaults(handler=train_reward, takes_overrides=True)

    p = sub.add_parser("score", help="Normalised rewards for texts or a JSONL file.")
    p.add_argument("--reward-model", required=True, metavar="DIR", help="A reward model directory (runs/NAME/reward_model).")
    p.add_argument("--query", default="", help="The query the texts continue (default empty).")
    p.add_argument("--text", action="append", default=[], help="A continuation to score (repeatable).")
    p.add_argument("--jsonl", metavar="FILE", help="JSONL with `query` and `response` (or `text`) fields; writes rows with `reward`.")
    p.add_argument("--output", metavar="FILE", help="Where to write the scored JSONL (default: standard output).")
    p.set_defaults(handler=score, takes_overrides=False)


def train_reward(args, overrides) -> int:
    from reward.train import train_reward as run
    from rlhf.labeling.store import existing_store

    config = load_config(args.config, overrides)
    check_run_dir(config)
    store = None if config.reward.labels else existing_store(
        config, "sample and label first (`rlhf sample`, `rlhf label`), import labels (`rlhf import`), or pass --labels FILE")
    metrics = run(config, store, log=log, overwrite=args.overwrite)
    log(f"held-out best-of-{round(1 / metrics['chance_accuracy'])} accuracy {metrics['best_of_n_accuracy']:.1%} "
        f"(chance {metrics['chance_accuracy']:.0%}), pairwise {metrics['pairwise_accuracy']:.1%}, "
        f"on {metrics['labels']} labels; saved to {config.layout.reward_model}")
    if metrics["excluded_labels"]["total"]:
        log(f"{metrics['excluded_labels']['total']} labels were left out (reward.exclude_labelers, reward.min_gold_accuracy)")
    return 0


def score(args, overrides) -> int:
    from reward.model import load_reward_model
    from reward.normalize import rewards as normalized_rewards
    from rlhf.run.files import check_writable, write_jsonl

    rows = _read_rows(args.jsonl) if args.jsonl else [{"query": args.query, "response": t} for t in args.text]
    if not rows:
        raise RLHFError("nothing to score: give --text TEXT (repeatable) or --jsonl FILE")
    if args.output:
        check_writable(args.output, "--output")  # before the reward model loads
    model, tokenizer = load_reward_model(args.reward_model)
    rewards = normalized_rewards(model, tokenizer, [(r["query"], r["response"]) for r in rows])
    scored = [{**row, "reward": round(value, 6)} for row, value in zip(rows, rewards.tolist())]
    if not args.output:
        for row in scored:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        return 0
    write_jsonl(args.output, scored)  # whole or not at all
    log(f"scored {len(rows)} texts into {args.output}")
    return 0


def _read_rows(path: str) -> list[dict]:
    if not Path(path).is_file():
        raise DataError(f"--jsonl {path}: no such file")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"{path} is not UTF-8 text (byte {e.start}): give a JSONL file of `query` and `response` rows") from None
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            rows.append({"query": row.get("query", ""), "response": row.get("response", row["text"] if "text" in row else row["response"])})
            if not all(isinstance(rows[-1][k], str) for k in ("query", "response")):
                raise TypeError
        except (json.JSONDecodeError, KeyError, AttributeError, TypeError):
            raise DataError(f"{path}, line {n}: expected a JSON object with `response` (or `text`) and optional `query`") from None
    return rows
