"""Subcommands `rlhf gold add|simulate|remove|list`: gold questions (batches with a known best) and each
labeler's accuracy on them. The work is in `rlhf/labeling/store_gold.py`, `gold_answers.py` and `gold.py`."""

from __future__ import annotations

from pathlib import Path

from rlhf.cli.output import log
from rlhf.config import load_config
from rlhf.labeling.store import existing_store

KINDS = ["sentiment", "descriptiveness", "rouge"]


def register(sub) -> None:
    p = sub.add_parser("gold", help="Gold questions: batches with a known best, served among the others to check labelers.")
    gsub = p.add_subparsers(dest="gold_command", required=True, metavar="ACTION")
    add = gsub.add_parser("add", help="Mark batches gold from a JSONL file of batch_id and best (the best sample's "
                                      "index in the stored order, as in best_of_4.jsonl).")
    add.add_argument("file", help="JSONL file: one {\"batch_id\": ..., \"best\": ...} per line.")
    simulate = gsub.add_parser("simulate", help="Mark N batches nobody has been handed gold, with a simulated labeler's "
                                                "choice at temperature 0 as their best.")
    simulate.add_argument("--kind", required=True, choices=KINDS, help="The simulated labeler: sentiment, descriptiveness or rouge.")
    simulate.add_argument("--n", type=int, required=True, help="How many batches to mark.")
    for q in (add, simulate):
        q.add_argument("--replace", action="store_true", help="Change the best of batches that are already gold.")
    remove = gsub.add_parser("remove", help="Make gold batches ordinary again (their labels stay).")
    remove.add_argument("batch_ids", nargs="+", type=int, metavar="BATCH_ID")
    gsub.add_parser("list", help="Gold batches, and each labeler's gold accuracy with its 95% interval.")
    for q in gsub.choices.values():
        q.add_argument("--config", required=True, help="Run config YAML.")
    p.set_defaults(handler=gold, takes_overrides=True)


def gold(args, overrides) -> int:
    config = load_config(args.config, overrides)
    store = existing_store(config, f"sample first (`rlhf sample --config {args.config}`)")
    if args.gold_command == "add":
        from rlhf.labeling.gold_answers import read_gold_file

        answers = read_gold_file(args.file)
        changed = store.mark_gold(answers, f"file:{Path(args.file).name}"[:255], args.replace)
        log(f"{changed} batches marked gold from {args.file} ({len(answers) - changed} already were)")
    elif args.gold_command == "simulate":
        from rlhf.labeling.gold_answers import simulated_answers

        answers, tied = simulated_answers(store, args.kind, args.n, config.seed)
        changed = store.mark_gold(answers, f"sim:{args.kind}", args.replace)
        log(f"{changed} batches marked gold with sim:{args.kind}'s choice at temperature 0"
            + (f"; {tied} passed over for a tie at the top" if tied else "")
            + (f"; only {len(answers)} of the {args.n} asked for: no other batch is unseen and untied" if len(answers) < args.n else ""))
    elif args.gold_command == "remove":
        removed = sum(store.unmark_gold(batch_id) for batch_id in args.batch_ids)
        log(f"{removed} batches are ordinary again ({len(args.batch_ids) - removed} were not gold)")
    else:
        _list(config, store)
    return 0


def _list(config, store) -> None:
    from rlhf.labeling.gold import gold_scores

    labeling = config.labeling
    batches = store.gold_batches()
    print(f"{len(batches)} gold batches; served at labeling.gold_rate {labeling.gold_rate:g}")
    names = {labeler.id: labeler.name for labeler in store.labelers()}
    for row in gold_scores(store.label_facts(), store.gold_answers(), names):
        low, high = row.interval
        accuracy = f"{row.accuracy:.0%} [{low:.0%}, {high:.0%}]" if row.answered else "n/a"
        majority = f"{row.majority_agreement:.0%} of {row.majority_batches}" if row.majority_batches else "n/a"
        flag = "  BELOW THRESHOLD" if row.below(labeling.gold_min_accuracy, labeling.gold_min_items) else ""
        print(f"  {row.name:24} gold {row.correct}/{row.answered} {accuracy:18} majority {majority}{flag}")
