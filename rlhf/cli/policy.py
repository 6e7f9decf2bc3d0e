"""Subcommand of the policy stage: train-policy."""

from __future__ import annotations

import os

from rlhf.cli.output import log
from rlhf.config.run_config import check_run_dir, load_config
from rlhf.run.layout import is_model_dir


def register(sub) -> None:
    p = sub.add_parser("train-policy", help="Fine-tune the policy with PPO against the run's reward model.")
    p.add_argument("--config", required=True, help="Run config YAML.")
    p.add_argument("--model", dest="model.name", metavar="NAME", help="Base model (alias, directory or hub name).")
    p.add_argument("--reward-model", dest="policy.reward_model", metavar="DIR",
                   help="Reward model directory (default: the run's reward_model).")
    p.add_argument("--resume", action="store_true", help="Continue from the last checkpoint of an interrupted run.")
    p.add_argument("--overwrite", action="store_true", help="Train again over a finished policy or an unfinished run.")
    p.set_defaults(handler=train_policy, takes_overrides=True)


def train_policy(args, overrides) -> int:
    from rlhf.errors import RLHFError
    from rlhf.policy.train import train_policy as run

    config = load_config(args.config, overrides)
    check_run_dir(config)
    location = config.reward_model_dir
    if not is_model_dir(location):  # refused before any model is loaded or anything written
        raise RLHFError(f"no reward model at {location}: train one with `rlhf train-reward --config {args.config}` "
                        "or point --reward-model (policy.reward_model) at one")
    say = log if os.environ.get("RANK", "0") == "0" else (lambda message: None)  # one voice under accelerate launch
    summary = run(config, log=say, resume=args.resume, overwrite=args.overwrite)
    first, last = summary.get("first", {}), summary.get("last", {})
    if last:
        say(f"{summary['updates']} updates: reward {first['objective/scores']:+.3f} -> {last['objective/scores']:+.3f}, "
            f"KL {last['objective/kl']:.2f} nats, {last['eps']:.2f} episodes/s; saved to {config.layout.policy}")
    return 0
