"""Queries: prompt records formatted by the task and tokenised to fit its query length.

Where a query is too long, the task's `truncate_field` (the document of a summary task) is
shortened from its end until the whole query fits, so the template's suffix ("TL;DR:") survives.
With `truncate_field_at: boundary` (the summary tasks) it then goes back to its last whole turn (a
dialogue's lines that start with a speaker) or its last whole sentence, where that keeps at least
half of what fits: a summary should not be asked of a document that stops mid-word. The stylistic
tasks keep the paper's excerpts, cut at a token. Without a truncate field, a too-long prompt is skipped and counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional

from rlhf.config import Config
from rlhf.config.task import Task
from rlhf.errors import ConfigError, DataError
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
    document: Optional[str] = None  # the same document whole, before any cut (lead-k and copying are measured on it)


def build_queries(task: Task, records: Iterable[dict], tokenizer, report: Optional[PromptReport] = None,
                  limit: Optional[int] = None) -> list[Query]:
    """Queries of the records in order, skipping those that cannot fit, up to `limit` of them."""
    queries = []
    for record in records:
        if limit is not None and len(queries) >= limit:
            break
        record = dict(record)
        document = record.get(task.truncate_field) if task.truncate_field else None
        ids = _fit(task, record, tokenizer)  # shortens record[truncate_field] in place to what fits
        if ids is None:
            if report is not None:
                report.skipped["longer than the query length"] += 1
            continue
        reference = record.get(task.reference_field) if task.reference_field else None
        source = record.get(task.truncate_field) if task.truncate_field else None
        queries.append(Query(id=record["id"], text=tokenizer.decode(ids), input_ids=ids, reference=reference,
                             source=source, document=document))
    return queries


def encode(tokenizer, text: str) -> list[int]:
    # No BOS/EOS: the paper's GPT-2 queries are raw text tokens, and the response continues them directly.
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def encode_query(task: Task, tokenizer, text: str) -> list[int]:
    """A formatted query's token ids: the raw text's, or with `task.chat_template` the model's chat
    template around it as one user message, up to the start of the assistant's reply."""
    if not task.chat_template:
        return encode(tokenizer, text)
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigError("task.chat_template", f"the tokenizer of {tokenizer.name_or_path or 'this model'} has no chat "
                          "template; set task.chat_template: false or use an instruct model")
    encoded = tokenizer.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True,
                                            tokenize=True, return_dict=True)
    return list(encoded["input_ids"])


def _fit(task: Task, record: dict, tokenizer) -> Optional[list[int]]:
    ids = encode_query(task, tokenizer, task.format_query(record))
    if len(ids) <= task.query_length:
        return ids
    field = task.truncate_field
    if field is None:
        return None
    whole = record[field]
    field_ids = encode(tokenizer, whole)
    overhead = len(ids) - len(field_ids)
    keep = task.query_length - overhead
    # Token merges at the cut can change the count by a token or two; shorten until it fits.
    while keep > 0:
        cut = tokenizer.decode(field_ids[:keep]).rstrip()
        texts = (at_boundary(cut, whole), cut) if task.truncate_field_at == "boundary" else (cut,)
        for text in texts:  # the boundary cut first; a shorter text can still re-tokenise longer
            record[field] = text
            ids = encode_query(task, tokenizer, task.format_query(record))
            if len(ids) <= task.query_length:
                return ids
        keep -= max(1, len(ids) - task.query_length)
    return None


TURN_START = re.compile(r"^[ \t]*#?[\w][\w .'-]{0,30}#?:", re.MULTILINE)  # "#Person1#:", "Alice:", "Dr. Lee:"
SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?=\s|$)")


def at_boundary(cut: str, whole: str = "") -> str:
    """A document cut mid-way (`cut`, a prefix of `whole`), shortened to its last whole turn or
    sentence if that keeps half of it.

    A text with at least two lines that start with a speaker is a dialogue: it ends before its last
    line unless the cut fell at that line's end. Otherwise it ends after the last sentence end.
    Where neither keeps half of the text (one long sentence, one long turn), the token cut stands.
    """
    half = len(cut) // 2
    if len(TURN_START.findall(cut)) >= 2:
        if whole.startswith(cut) and whole[len(cut):].lstrip(" \t").startswith("\n"):
            return cut  # the cut fell at the end of a turn
        line = cut.rfind("\n")  # the last line is a partial turn, or a speaker's tag cut short
        if line >= half:
            return cut[:line].rstrip()
    ends = [m.end() for m in SENTENCE_END.finditer(cut)]
    if ends and ends[-1] >= half:
        return cut[:ends[-1]]
    return cut


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
