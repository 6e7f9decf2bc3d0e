"""Supervised examples of a task, tokenised for TRL's SFTTrainer.

- Summaries (a task with a `reference_field`): the query exactly as PPO and evaluation see it
  (the document cut to fit, then "TL;DR:") followed by the reference summary and the task's
  truncation token, so the model learns where a summary ends. `completion_mask` marks the summary
  tokens: the loss is on them only.
- Continuations: plain text of the prompt source, in excerpts of query + response length, with
  the loss on every token.

Tokens are encoded as the rest of the project encodes them (no BOS/EOS added), so the model is
trained on exactly the token sequences it later samples from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rlhf.errors import DataError
from rlhf.tasks.prompts import load_prompts
from rlhf.tasks.queries import encode, queries_for

if TYPE_CHECKING:
    import datasets


def sft_dataset(config, tokenizer, split: str, limit=None, log=print) -> "datasets.Dataset":
    """The split's examples as a dataset of `input_ids` (and `completion_mask` for summaries)."""
    import datasets

    task = config.task
    rows = summary_examples(config, tokenizer, split, log) if task.reference_field else text_examples(config, tokenizer, split, log)
    rows = rows[:limit] if limit is not None else rows
    if not rows:
        raise DataError(f"no supervised examples in the {split} split of the prompt source: "
                        + ("its prompts have no reference summaries" if task.reference_field else "its texts are empty")
                        + "; check prompts.fields and prompts.eval_fraction")
    return datasets.Dataset.from_list(rows)


def summary_examples(config, tokenizer, split: str, log=print) -> list[dict]:
    task = config.task
    rows, lengths = [], []
    for query in queries_for(config, tokenizer, split, log=log):
        if not query.reference or not query.reference.strip():
            continue
        # One line: the task's truncation rule cuts a summary at its first newline.
        target = " " + " ".join(query.reference.split()) + (task.truncate_token or "")
        target_ids = encode(tokenizer, target)
        lengths.append(len(target_ids))
        target_ids = target_ids[: task.response_length]
        rows.append({"input_ids": query.input_ids + target_ids,
                     "completion_mask": [0] * len(query.input_ids) + [1] * len(target_ids)})
    check_reference_lengths(lengths, task.response_length, config.sft.cut_long_references, log)
    return rows


def check_reference_lengths(lengths: list[int], response_length: int, cut_anyway: bool = False, log=print) -> None:
    """A few references longer than a summary may be are cut; most of them means the task is too short.

    A cut reference loses its end (and the newline that ends a summary), so a model trained mostly
    on cut ones would learn summaries that never end.
    """
    cut = sum(n > response_length for n in lengths)
    if not cut:
        return
    median = sorted(lengths)[len(lengths) // 2]
    what = f"{cut} of {len(lengths)} reference summaries are longer than task.response_length={response_length} tokens"
    if cut * 2 > len(lengths) and not cut_anyway:
        raise DataError(f"{what} (their median is {median} tokens, with the newline that ends a summary): a supervised "
                        "model would learn summaries that never end; raise task.response_length, use shorter references, "
                        "or set sft.cut_long_references: true to train on them cut")
    log(f"{what}; they are cut to it")


def text_examples(config, tokenizer, split: str, log=print) -> list[dict]:
    task = config.task
    length = task.query_length + task.response_length
    count = lambda texts: [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    splits, report = load_prompts(config.prompt_source, task.fields, (), count, length)
    log(report.summary() + f"; {len(splits[split])} texts in the {split} split")
    rows = []
    for record in splits[split]:
        ids = encode(tokenizer, task.format_query(record))[:length]
        if len(ids) >= 2:  # a single token predicts nothing
            rows.append({"input_ids": ids})
    return rows
