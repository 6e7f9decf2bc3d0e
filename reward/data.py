"""Reward-model training data: best-of-n choices from the label store or an export file.

Each effective label (skipped and flagged ones left out) is one example: the query, its n
samples in stored order and the chosen index. Several labelers' labels of one batch are separate
examples; so are labels of gold batches (known-answer checks on labelers): each labeler's choice
there is an example like any other, and the known best is not added as one of its own. `leave_out`
drops the labels of labelers named in `reward.exclude_labelers`, or found by `below_gold_accuracy`.
The evaluation split holds out whole queries (a hash of the query id), so no query's samples are
seen in training and evaluation both.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

import torch

from rlhf.errors import DataError, RLHFError


@dataclass
class Choice:
    query_id: str
    query: str
    samples: list[str]
    best: int
    task: Optional[str] = None
    labeler: Optional[str] = None  # who chose (None where a file does not say)


def choices_from_store(store, task_name: Optional[str] = None) -> list[Choice]:
    """Every effective, non-skipped, non-flagged label as a Choice (optionally of one task only)."""
    out, tasks = [], set()
    for label in store.training_labels():
        tasks.add(label.task)
        if task_name is None or label.task == task_name:
            out.append(Choice(label.query_id, label.prompt, list(label.samples), label.choice, label.task, label.labeler))
    if not out:
        raise _no_labels(task_name, tasks)
    return out


def choices_from_file(path: str | Path, task_name: Optional[str] = None) -> list[Choice]:
    """Choices from a best_of_4.jsonl export (the format `rlhf export` writes)."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                samples = [row[f"sample{i}"] for i in range(_count_samples(row))]
                choice = Choice(str(row.get("query_id", n)), row["query"], samples, int(row["best"]), row.get("task"),
                                row.get("labeler"))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise DataError(f"{path}, line {n}: not a best-of-n label ({type(exc).__name__}: {exc})") from None
            if task_name is None or choice.task in (None, task_name):  # exports carry no task field: keep those
                out.append(choice)
    if not out:
        raise DataError(f"{path} holds no labels")
    return out


def leave_out(choices: list[Choice], labelers: Iterable[str]) -> tuple[list[Choice], dict[str, int]]:
    """The choices not made by `labelers`, and how many each of them made (0: none to leave out)."""
    names = set(labelers)
    removed = {name: sum(1 for c in choices if c.labeler == name) for name in sorted(names)}
    return [c for c in choices if c.labeler not in names], removed


def below_gold_accuracy(tallies: dict[str, tuple[int, int]], min_accuracy: float, min_items: int) -> dict[str, tuple[int, int]]:
    """The labelers of `tallies` ({name: (correct, gold answers)}, `LabelStore.gold_tallies()`) whose gold
    accuracy is below `min_accuracy` on at least `min_items` gold answers, with their tallies."""
    return {name: (correct, answered) for name, (correct, answered) in sorted(tallies.items())
            if answered >= max(min_items, 1) and correct / answered < min_accuracy}


def _count_samples(row: dict) -> int:
    n = 0
    while f"sample{n}" in row:
        n += 1
    return n


def _no_labels(task_name, tasks) -> RLHFError:
    if tasks and task_name:
        return RLHFError(f"the label store has no labels for task '{task_name}' (it has labels for: {', '.join(sorted(tasks))})")
    return RLHFError("the label store has no usable labels: label some batches first (rlhf label), or import a label file")


def split_by_query(choices: list[Choice], eval_fraction: float, seed: int = 0) -> tuple[list[Choice], list[Choice]]:
    def held_out(query_id: str) -> bool:
        digest = hashlib.sha1(f"reward:{seed}:{query_id}".encode()).hexdigest()
        return int(digest[:8], 16) % 10_000 < eval_fraction * 10_000

    train = [c for c in choices if not held_out(c.query_id)]
    evaluation = [c for c in choices if held_out(c.query_id)]
    return train, evaluation


def encode_choice(tokenizer, choice: Choice, max_query: int, max_response: int) -> dict:
    """Token ids of query + each sample (query cut from the left, sample from the right)."""
    query = tokenizer(choice.query, add_special_tokens=False)["input_ids"][-max_query:]
    sequences = [query + tokenizer(s, add_special_tokens=False)["input_ids"][:max_response] for s in choice.samples]
    return {"sequences": sequences, "best": choice.best, "query_length": len(query)}


def label_length(feature: dict) -> int:
    """Tokens in a label's longest sequence: what its batch is padded to."""
    return max(len(seq) for seq in feature["sequences"])


def collate(features: list[dict], pad_id: int) -> dict:
    """A batch of labels as the prefix their n sequences share (the query) and the n suffixes.

    prefix_ids (batch, P) are left-padded, suffix_ids (batch, n, S) right-padded, each with its
    mask, plus response_mask (the suffix tokens that are response, which mean pooling reads) and
    the chosen indices. The reward model runs the prefix once per label instead of n times
    (`reward.trainer.batch_rewards`); the prefix is the longest one all n sequences start with,
    within the query and short of each sequence's last token (where the reward is read).
    """
    n = len(features[0]["sequences"])
    if any(len(f["sequences"]) != n for f in features):
        raise DataError("every label in a batch must have the same number of samples")
    cuts = [min(_shared_prefix_length(f["sequences"]), f["query_length"]) for f in features]
    prefixes = [f["sequences"][0][:cut] for f, cut in zip(features, cuts)]
    suffixes = [[seq[cut:] for seq in f["sequences"]] for f, cut in zip(features, cuts)]
    longest_prefix = max(len(p) for p in prefixes)
    longest_suffix = max(len(s) for group in suffixes for s in group)
    prefix_ids = torch.full((len(features), longest_prefix), pad_id, dtype=torch.long)
    suffix_ids = torch.full((len(features), n, longest_suffix), pad_id, dtype=torch.long)
    prefix_mask, suffix_mask = torch.zeros_like(prefix_ids), torch.zeros_like(suffix_ids)
    response_mask = torch.zeros_like(suffix_ids)
    for b, (prefix, group) in enumerate(zip(prefixes, suffixes)):
        query_left = features[b]["query_length"] - cuts[b]  # query tokens at the start of each suffix
        if prefix:
            prefix_ids[b, -len(prefix) :] = torch.tensor(prefix)
            prefix_mask[b, -len(prefix) :] = 1
        for i, seq in enumerate(group):
            suffix_ids[b, i, : len(seq)] = torch.tensor(seq)
            suffix_mask[b, i, : len(seq)] = 1
            response_mask[b, i, query_left : len(seq)] = 1
    return {"prefix_ids": prefix_ids, "prefix_mask": prefix_mask, "suffix_ids": suffix_ids,
            "suffix_mask": suffix_mask, "response_mask": response_mask, "best": torch.tensor([f["best"] for f in features])}


def _shared_prefix_length(sequences: list[list[int]]) -> int:
    limit = min(len(s) for s in sequences) - 1
    length = 0
    while length < limit and all(s[length] == sequences[0][length] for s in sequences):
        length += 1
    return length


def full_sequences(batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The batch's (batch * n, P + S) sequences, mask and response mask, prefix and suffix side by side."""
    b, n, _ = batch["suffix_ids"].shape
    repeat = lambda t: t.repeat_interleave(n, dim=0)
    joined = lambda prefix, suffix: torch.cat([prefix, batch[suffix].view(b * n, -1)], dim=1)
    ids = joined(repeat(batch["prefix_ids"]), "suffix_ids")
    mask = joined(repeat(batch["prefix_mask"]), "suffix_mask")
    response = joined(torch.zeros_like(repeat(batch["prefix_mask"])), "response_mask")
    return ids, mask, response
