"""Subcommand generate: continuations of a prompt or of a prompt source."""

from __future__ import annotations

from rlhf.cli.output import log
from rlhf.config import load_config, write_run_config


def register(sub) -> None:
    p = sub.add_parser("generate", help="Write continuations of a prompt or of a prompt source.",
                       description="Sample continuations with the task's settings or your own.")
    p.add_argument("--config", help="Run config YAML (see configs/).")
    p.add_argument("--model", dest="model.name", help="Alias (smollm2-135m), local directory, or hub name.")
    p.add_argument("--task", dest="task", help="Built-in task name or task YAML path.")
    p.add_argument("--prompt", action="append", dest="prompt_texts", metavar="TEXT", help="A prompt to continue (repeatable).")
    p.add_argument("--prompts", dest="prompts.path", metavar="SOURCE", help="Prompt file, folder, glob or hub dataset.")
    p.add_argument("--split", dest="generation.split", choices=["train", "eval"], help="Prompt split (default eval).")
    p.add_argument("--num-prompts", dest="generation.num_prompts", type=int, metavar="N", help="Continue the first N prompts.")
    p.add_argument("--num-samples", dest="generation.num_samples", type=int, metavar="N", help="Continuations per prompt.")
    p.add_argument("--temperature", dest="generation.temperature", type=float)
    p.add_argument("--top-k", dest="generation.top_k", type=int)
    p.add_argument("--top-p", dest="generation.top_p", type=float)
    p.add_argument("--max-new-tokens", dest="generation.max_new_tokens", type=int)
    p.add_argument("--batch-size", dest="generation.batch_size", type=int)
    p.add_argument("--seed", dest="seed", type=int)
    p.add_argument("--no-truncate", dest="generation.truncate", action="store_const", const=False,
                   help="Keep the whole continuation instead of cutting it by the task's rule.")
    p.add_argument("--output", help="JSONL file to write; default: <run dir>/generations.jsonl with --config.")
    p.add_argument("--quiet", action="store_true", help="Do not print the continuations.")
    p.set_defaults(handler=generate, takes_overrides=True)


def generate(args, overrides) -> int:
    from dataclasses import asdict

    from rlhf.generation import generate as sample
    from rlhf.generation import sampling_settings, with_precision
    from rlhf.models.loading import load_model_for
    from rlhf.run.files import check_writable, write_jsonl
    from rlhf.tasks.queries import Query, encode, queries_for

    config = load_config(args.config, overrides)
    output = args.output
    if args.config and output is None:
        output = str(config.layout.generations)
    if output:  # refused before the model loads, not after everything is sampled
        check_writable(output, "--output" if args.output else "the run directory's generations file")
    model, tokenizer = load_model_for(config, log)
    if args.prompt_texts:
        queries = [Query(id=f"prompt-{i}", text=t, input_ids=encode(tokenizer, t)) for i, t in enumerate(args.prompt_texts)]
    else:
        queries = queries_for(config, tokenizer, config.generation.split, config.generation.num_prompts, log=log)
    settings = with_precision(sampling_settings(config), config.generation.bf16, "generation", model,
                              config.task.query_length, log)
    results = sample(model, tokenizer, queries, settings)
    rows = [{"query_id": q.id, "query": q.text, "samples": [s.text for s in samples],
             "truncated": [s.truncated for s in samples], "model": config.model.name, "task": config.task.name,
             "settings": asdict(settings)} for q, samples in zip(queries, results)]
    if not args.quiet:
        _print_rows(rows)
    if args.config and args.output is None:
        write_run_config(config)
    if output:
        write_jsonl(output, rows)
        log(f"wrote {len(rows)} prompts x {settings.num_samples} continuations to {output}")
    return 0


def _print_rows(rows) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False)
    for row in rows:
        # Text objects print model output literally: no markup from the model is interpreted.
        console.print(Text(row["query"], style="bold"), soft_wrap=True)
        for number, sample in enumerate(row["samples"], 1):
            prefix = f"  [{number}] " if len(row["samples"]) > 1 else "  "
            console.print(Text(prefix, style="dim") + Text("..." + sample if sample else "(empty)"), soft_wrap=True)
        console.print()
