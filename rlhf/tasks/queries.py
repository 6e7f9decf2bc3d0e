"""Queries: prompt records formatted by the task and tokenised to fit its query length.

Where a query is too long, the task's `truncate_field` (the document of a summary task) is
shortened from its end until the whole query fits, so the template's suffix ("TL;DR:") survives.
Without a truncate field, a too-long prompt is skipped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from rlhf.config import Config
from rlhf.config.task import Task
from rlhf.errors import DataError
from rlhf.models.loading import checked_location
from rlhf.models.tokenizer import load_tokenizer
from rlhf.tasks.prompts import PromptReport, load_prompts


@dataclass
class Query:
    id: str
    text: str
    input_ids: list[int]
    reference: Optional[str] = None
    source: Optional[str] = None  # the document a summary is of (the task's truncate_field), as the model saw it


def build_queries(task: Task, records: Iterable[dict], tokenizer, report: Optional[PromptReport] = None,
                  limit: Optional[int] = None) -> list[Query]:
    """Queries of the records in order, skipping those that cannot fit, up to `limit` of them."""
    queries = []
    for record in records:
        if limit is not None and len(queries) >= limit:
            break
        record = dict(record)
        ids = _fit(task, record, tokenizer)  # shortens record[truncate_field] in place to what fits
        if ids is None:
            if report is not None:
                report.skipped["longer than the query length"] += 1
            continue
        reference = record.get(task.reference_field) if task.reference_field else None
        source = record.get(task.truncate_field) if task.truncate_field else None
        queries.append(Query(id=record["id"], text=tokenizer.decode(ids), input_ids=ids, reference=reference, source=source))
    return queries


def encode(tokenizer, text: str) -> list[int]:
    # No BOS/EOS: the paper's GPT-2 queries are raw text tokens, and the response continues them directly.
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def _fit(task: Task, record: dict, tokenizer) -> Optional[list[int]]:
    ids = encode(tokenizer, task.format_query(record))
    if len(ids) <= task.query_length:
        return ids
    field = task.truncate_field
    if field is None:
        return None
    field_ids = encode(tokenizer, record[field])
    overhead = len(ids) - len(field_ids)
    keep = task.query_length - overhead
    # Token merges at the cut can change the count by a token or two; shorten until it fits.
    while keep > 0:
        record[field] = tokenizer.decode(field_ids[:keep]).rstrip()
        ids = encode(tokenizer, task.format_query(record))
        if len(ids) <= task.query_length:
            return ids
        keep -= max(1, len(ids) - task.query_length)
    return None


def queries_for(config: Config, tokenizer, split: str, limit: Optional[int] = None, log=print) -> list[Query]:
    """Queries of a split of the config's prompt source, with a report of what was skipped."""
    task = config.task
    count = lambda texts: [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    optional = [task.reference_field] if task.reference_field else []
    splits, report = load_prompts(config.prompt_source, task.fields, optional, count, task.query_length)
    queries = build_queries(task, splits[split], tokenizer, report, limit=limit)
    log(report.summary() + f"; using {len(queries)} from the {split} split")
    if not queries:
        why = (f"its {len(splits[split])} prompts are all longer than task.query_length={task.query_length} tokens"
               if len(splits[split]) else f"the split is empty ({report.kept} prompts, prompts.eval_fraction={config.prompt_source.eval_fraction})")
        raise DataError(f"no usable queries in the {split} split of {report.source}: {why}; "
                        "use a larger prompt source, or change task.query_length or prompts.eval_fraction")
    return queries


def check_model_and_prompts(config: Config, split: str = "train", log=print) -> None:
    """The model's context and the prompt source checked without loading weights, for a command that
    would otherwise write its run directory before it gets to them."""
    queries_for(config, load_tokenizer(checked_location(config, log)), split, log=lambda message: None)
