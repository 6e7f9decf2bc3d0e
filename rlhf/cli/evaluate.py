"""Subcommand evaluate: the policy and other systems against zero-shot on held-out queries."""

from __future__ import annotations

from rlhf.cli.output import log
from rlhf.config import check_run_dir, load_config, write_run_config


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="Compare the policy (and other systems) with zero-shot on held-out queries.")
    p.add_argument("--config", required=True, help="Run config YAML.")
    p.add_argument("--policy", dest="evaluation.policy", metavar="DIR", help="Policy directory (default: the run's policy).")
    p.add_argument("--num-queries", dest="evaluation.num_queries", type=int, metavar="N", help="Held-out queries (default 64).")
    p.add_argument("--human", action="store_true",
                   help="Queue blind pairs for the app's Compare page instead of judging automatically.")
    p.add_argument("--overwrite", action="store_true", help="Evaluate again over a finished evaluation.")
    p.set_defaults(handler=evaluate, takes_overrides=True)



def evaluate(args, overrides) -> int:
    from rlhf.evaluation.evaluate import evaluate as run_evaluation
    from rlhf.evaluation.evaluate import queue_human_pairs, systems_for
    from rlhf.labeling.store import open_store

    config = load_config(args.config, overrides)
    systems_for(config)  # nothing to compare is refused before the run directory is written
    check_run_dir(config)
    store = open_store(config) if args.human else None  # a damaged store too
    write_run_config(config)
    if args.human:
        added = queue_human_pairs(config, store, log)
        log(f"queued {added} pairs for human judges; start the app with `rlhf label --config {config.layout.config}` "
            "and open its Compare page; `rlhf report` counts the judgements")
        return 0
    metrics = run_evaluation(config, log=log, overwrite=args.overwrite)
    for judge, systems in metrics["judges"].items():
        for system, rate in systems.items():
            log(f"{system} vs zero-shot, judged by {judge}: {rate['win_rate']:.1%} preferred "
                f"(95% interval {rate['low']:.1%}-{rate['high']:.1%}, n={rate['n']})")
    log(f"wrote {config.layout.eval}")
    return 0
