"""Gold questions: batches whose best sample is known, served among the others to check labelers.

Part of the store: `GoldQuestions` is mixed into `LabelStore` (`rlhf/labeling/store.py`). An admin marks
a batch gold with its best sample (`mark_gold`: from the dashboard, a file, or a simulated labeler at
temperature 0, `rlhf/labeling/gold_answers.py`). `LabelStore.next_assignment(..., gold_rate=p)` hands
out, for each new item, a gold batch the labeler has not had with probability p (`unseen_gold`); gold
batches go to every labeler (they take no place of `labeling.labelers_per_batch`) and never as ordinary
items (`gold_ids`). Nothing tells a gold item apart on the page: its `Assignment` is like any other. A
label on a gold batch is an ordinary label, stored, exported and trained on as usual; `gold_tallies`
scores each labeler's effective choices on gold batches against the known best (`rlhf/labeling/gold.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import delete, select

from rlhf.errors import RLHFError
from rlhf.labeling.schema import AssignmentRow, BatchRow, GoldRow


@dataclass(frozen=True)
class GoldBatch:
    batch_id: int
    best: int  # index in the STORED order
    source: str
    created_at: datetime


class GoldQuestions:
    """Mixed into LabelStore, which provides `session()` and `label_facts()`."""

    def mark_gold(self, answers: Iterable[tuple[int, int]], source: str, replace: bool = False) -> int:
        """Mark each (batch id, best sample's index in the stored order) gold, all or none; returns how
        many were added or changed. A batch already gold with the same best stays as it is; with another
        best it is refused unless `replace`."""
        answers = _one_answer_each(answers)
        if not source or len(source) > 255:
            raise RLHFError("a gold answer's source must be 1 to 255 characters")
        changed = 0
        with self.session() as s, s.begin():
            for batch_id, best in answers.items():
                batch = s.get(BatchRow, batch_id)
                if batch is None:
                    raise RLHFError(f"unknown batch id {batch_id}: nothing was marked gold")
                if not 0 <= best < len(batch.samples):
                    raise RLHFError(f"best {best} is out of range: batch {batch_id} has {len(batch.samples)} samples "
                                    f"(0 to {len(batch.samples) - 1}); nothing was marked gold")
                row = s.get(GoldRow, batch_id)
                if row is None:
                    s.add(GoldRow(batch_id=batch_id, best=best, source=source))
                elif row.best != best:
                    if not replace:
                        raise RLHFError(f"batch {batch_id} is already gold with best {row.best} ({row.source}), not {best}: "
                                        "pass --replace to change it; nothing was marked gold")
                    row.best, row.source = best, source
                else:
                    continue
                changed += 1
        return changed

    def unmark_gold(self, batch_id: int) -> bool:
        """Make a gold batch an ordinary one again (its labels stay); False when it was not gold."""
        with self.session() as s, s.begin():
            return s.execute(delete(GoldRow).where(GoldRow.batch_id == batch_id)).rowcount == 1

    def gold_batches(self) -> list[GoldBatch]:
        with self.session() as s:
            return [GoldBatch(r.batch_id, r.best, r.source, r.created_at)
                    for r in s.scalars(select(GoldRow).order_by(GoldRow.batch_id))]

    def gold_answers(self) -> dict[int, int]:
        """{batch id: best sample's index in the stored order} of every gold batch."""
        with self.session() as s:
            return {batch_id: best for batch_id, best in s.execute(select(GoldRow.batch_id, GoldRow.best))}

    def unseen_batch_ids(self) -> list[int]:
        """Batches nobody has been handed yet and not gold, oldest first: candidates for new gold questions."""
        with self.session() as s:
            return list(s.scalars(select(BatchRow.id).where(BatchRow.id.not_in(select(AssignmentRow.batch_id)),
                                                            BatchRow.id.not_in(gold_ids())).order_by(BatchRow.id)))

    def gold_tallies(self) -> dict[str, tuple[int, int]]:
        """{labeler name: (choices that were the known best, choices on gold batches)}, effective labels only."""
        from rlhf.labeling import gold  # numpy and statsmodels, which opening a store does not need

        names = {labeler.id: labeler.name for labeler in self.labelers()}
        return {names[labeler_id]: counts for labeler_id, counts in gold.tally(self.label_facts(), self.gold_answers()).items()}


def gold_ids():
    """Ids of the gold batches."""
    return select(GoldRow.batch_id)


def unseen_gold(labeler_id: int):
    """Ids of the gold batches this labeler has never been handed, in id order."""
    # NOT EXISTS looks each gold batch up in the (batch, labeler) key; NOT IN read all the labeler's assignments.
    mine = select(AssignmentRow.id).where(AssignmentRow.batch_id == GoldRow.batch_id, AssignmentRow.labeler_id == labeler_id)
    return select(GoldRow.batch_id).where(~mine.exists()).order_by(GoldRow.batch_id)


def _one_answer_each(answers: Iterable[tuple[int, int]]) -> dict[int, int]:
    out: dict[int, int] = {}
    for batch_id, best in answers:
        if out.get(batch_id, best) != best:
            raise RLHFError(f"batch {batch_id} is given two answers, {out[batch_id]} and {best}; nothing was marked gold")
        out[batch_id] = best
    return out
