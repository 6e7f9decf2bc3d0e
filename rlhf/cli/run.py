"""Subcommand run: the whole loop, every stage in order, finished ones skipped."""

from __future__ import annotations

from rlhf.cli.output import log
from rlhf.config import check_run_dir, load_config
from rlhf.errors import RLHFError


def register(sub) -> None:
    p = sub.add_parser("run", help="The whole loop: sample, label, reward, sft (when used), policy, evaluate, report (finished stages are skipped).")
    p.add_argument("--config", required=True, help="Run config YAML.")
    p.add_argument("--rounds", type=int, default=1, help="Rounds of online collection; round r samples from round r-1's policy.")
    p.set_defaults(handler=run, takes_overrides=True)


def run(args, overrides) -> int:
    from rlhf.pipeline import check_inputs, run_loop

    if args.rounds < 1:
        raise RLHFError(f"--rounds must be at least 1, got {args.rounds}")
    config = load_config(args.config, overrides)
    check_run_dir(config)
    if not config.run_dir.exists():  # a new run: its model and prompts are checked before its directory is made
        check_inputs(config, log)
    run_loop(config, rounds=args.rounds, log=log)  # waiting for human labels is not a failure: it says how to go on
    return 0
