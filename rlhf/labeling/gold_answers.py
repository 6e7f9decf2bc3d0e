"""Known answers for gold questions: from a JSONL file, or from a simulated labeler at temperature 0.

A file holds one JSON object per line with `batch_id` and `best`: the best sample's index in the batch's
stored order, from 0. That is the `best` of the `best_of_4.jsonl` that `rlhf export` writes, so an
export of a trusted labeler's labels serves as it is (other fields are ignored). The whole file is
read and checked before anything is stored.

A simulated labeler at temperature 0 always picks the sample its scorer rates highest
(`rlhf/labeling/simulated.py`). `simulated_answers` asks it about batches nobody has been handed yet
(so no labeler has seen a new gold question before), in an order fixed by the seed, and passes over a
batch whose top score is tied: it has no single best. The store marks them with `LabelStore.mark_gold`.
"""

from __future__ import annotations

import random
from pathlib import Path

from rlhf.errors import DataError
from rlhf.labeling.label_files import json_lines
from rlhf.labeling.simulated import NEEDS_REFERENCE, labeler_name, scorer


def read_gold_file(path: str | Path) -> list[tuple[int, int]]:
    """(batch id, best) for each line of a gold answers file; a malformed line is one DataError."""
    answers = []
    for where, row in json_lines(Path(path)):
        values = [row.get("batch_id"), row.get("best")]
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
            raise DataError(f"{where}: a gold answer needs `batch_id` and `best` (the best sample's index in the stored "
                            f"order, from 0) as whole numbers, got batch_id={values[0]!r}, best={values[1]!r}; nothing was marked gold")
        answers.append((values[0], values[1]))
    if not answers:
        raise DataError(f"{path} holds no gold answers: one JSON object per line with batch_id and best")
    return answers


def simulated_answers(store, kind: str, n: int, seed: int = 0) -> tuple[list[tuple[int, int]], int]:
    """Up to `n` (batch id, best) answered by `sim:KIND` at temperature 0 on batches nobody has been handed,
    and how many batches were passed over for a tie at the top."""
    if n <= 0:
        raise DataError(f"--n must be positive, got {n}")
    score = scorer(kind)
    candidates = store.unseen_batch_ids()
    random.Random(seed).shuffle(candidates)
    answers, tied = [], 0
    for batch_id in candidates:
        if len(answers) == n:
            break
        batch = store.batch(batch_id)
        query = store.query(batch.query_id)
        if kind in NEEDS_REFERENCE and not query.reference:
            raise DataError(f"{labeler_name(kind)} compares samples with a reference summary, but query {query.id!r} "
                            f"(batch {batch_id}) has none: use another labeler for gold answers")
        scores = [score(query.prompt, sample, query.reference) for sample in batch.samples]
        top = max(scores)
        if scores.count(top) > 1:
            tied += 1
            continue
        answers.append((batch_id, scores.index(top)))
    return answers, tied
