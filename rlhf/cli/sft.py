"""Subcommand of the supervised stage: sft."""

from __future__ import annotations

import os

from rlhf.cli.output import log
from rlhf.config.run_config import check_run_dir, load_config


def register(sub) -> None:
    p = sub.add_parser("sft", help="Supervised fine-tuning of the base model on the task's data (the paper's baseline).")
    p.add_argument("--config", required=True, help="Run config YAML.")
    p.add_argument("--model", dest="model.name", metavar="NAME", help="Base model (alias, directory or hub name).")
    p.add_argument("--resume", action="store_true", help="Continue from the last checkpoint of an interrupted run.")
    p.add_argument("--overwrite", action="store_true", help="Train again over a finished model or an unfinished run.")
    p.set_defaults(handler=sft, takes_overrides=True)


def sft(args, overrides) -> int:
    from rlhf.sft.train import train_sft

    config = load_config(args.config, overrides)
    check_run_dir(config)
    say = log if os.environ.get("RANK", "0") == "0" else (lambda message: None)  # one voice under accelerate launch
    metrics = train_sft(config, log=say, resume=args.resume, overwrite=args.overwrite)
    say(f"held-out loss {metrics['eval_loss_before']:.3f} -> {metrics['eval_loss']:.3f} "
        f"(perplexity {metrics['perplexity_before']:.1f} -> {metrics['perplexity']:.1f}) "
        f"on {metrics['eval_examples']} examples; saved to {config.layout.sft}")
    return 0
