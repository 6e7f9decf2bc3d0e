"""Subcommands of evaluation and the whole loop: evaluate and run."""

from __future__ import annotations

from rlhf.commands import log
from rlhf.config import config_yaml, load_config
from rlhf.run_dir import write_config


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="Compare the policy (and other systems) with zero-shot on held-out queries.")
    p.add_argument("--config", required=True, help="Run config YAML.")
    p.add_argument("--policy", dest="evaluation.policy", metavar="DIR", help="Policy directory (default: the run's policy).")
    p.add_argument("--num-queries", dest="evaluation.num_queries", type=int, metavar="N", help="Held-out queries (default 64).")
    p.add_argument("--human", action="store_true",
                   help="Queue blind pairs for the app's Compare page instead of judging automatically.")
    p.add_argument("--overwrite", action="store_true", help="Evaluate again over a finished evaluation.")
    p.set_defaults(handler=evaluate, takes_overrides=True)

    p = sub.add_parser("run", help="The whole loop: sample, label, reward, sft (when used), policy, evaluate, report (finished stages are skipped).")
    p.add_argument("--config", required=True, help="Run config YAML.")
    p.add_argument("--rounds", type=int, default=1, help="Rounds of online collection; round r samples from round r-1's policy.")
    p.set_defaults(handler=run, takes_overrides=True)


def evaluate(args, overrides) -> int:
    from rlhf.evaluate import evaluate as run_evaluation, queue_human_pairs, systems_for
    from rlhf.labeling_commands import open_store

    config = load_config(args.config, overrides)
    systems_for(config)  # nothing to compare is refused before the run directory is written
    write_config(config.run_dir, config_yaml(config))
    if args.human:
        added = queue_human_pairs(config, open_store(config), log)
        log(f"queued {added} pairs for human judges; start the app with `rlhf label --config {config.run_dir / 'config.yaml'}` "
            "and open its Compare page; `rlhf report` counts the judgements")
        return 0
    metrics = run_evaluation(config, log=log, overwrite=args.overwrite)
    for judge, systems in metrics["judges"].items():
        for system, rate in systems.items():
            log(f"{system} vs zero-shot, judged by {judge}: {rate['win_rate']:.1%} preferred "
                f"(95% interval {rate['low']:.1%}-{rate['high']:.1%}, n={rate['n']})")
    log(f"wrote {config.run_dir / 'eval'}")
    return 0


def run(args, overrides) -> int:
    from rlhf.errors import RLHFError
    from rlhf.pipeline import run_loop

    if args.rounds < 1:
        raise RLHFError(f"--rounds must be at least 1, got {args.rounds}")
    config = load_config(args.config, overrides)
    if not config.run_dir.exists():  # a new run: its model and prompts are checked before its directory is made
        from rlhf.commands import check_model_and_prompts

        check_model_and_prompts(config)
    run_loop(config, rounds=args.rounds, log=log)  # waiting for human labels is not a failure: it says how to go on
    return 0
