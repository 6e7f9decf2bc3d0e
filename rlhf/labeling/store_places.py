"""Places of `labeling.labelers_per_batch`: which batches a labeler may be handed next, found without
counting every assignment of the store.

Each batch counts the labelers it was handed to in two columns: `held_by_people` (labelers who sign in,
with a password) and `held_by_machines` (imported and simulated labelers, without). The store moves
them in the transaction that adds an assignment (`take_place`; transactions run one at a time,
`engine.py`), and when a labeler without a password is given one (`became_person`), so they always
equal counting the batch's assignments by their labelers' kinds now. Migration 0007 counted them for
stores made before. A batch is open to a labeler while fewer than k hold it: counting every holder
(`count_machines`), or only those of the labeler's kind.

Why: the store used to count every assignment per batch each time it handed out an item and drew a
labeler's progress bar; at 100,000 batches and 300,000 labels that took about a second per item
(`bench/label_scale.py`). The counters' indexes find the open batches, few in a store labeled oldest
first, directly.
"""

from __future__ import annotations

from typing import Optional

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from rlhf.labeling.schema import AssignmentRow, BatchRow, LabelerRow
from rlhf.labeling.store_gold import gold_ids


def is_person(s: Session, labeler_id: int) -> bool:
    """Whether the labeler signs in (has a password); False for imported and simulated labelers."""
    return bool(s.scalar(select(LabelerRow.password_hash.is_not(None)).where(LabelerRow.id == labeler_id)))


def open_batches(labeler_id: int, labelers_per_batch: int, count_machines: bool, person: bool):
    """Ids of ordinary (not gold) batches this labeler never had that fewer than k labelers hold (unordered:
    a count needs no order, and SQLite reads every row to keep one); without `count_machines`, only holders
    of this labeler's kind (`person`) count."""
    k = labelers_per_batch
    people, machines = BatchRow.held_by_people, BatchRow.held_by_machines
    if count_machines:
        # people < k follows from the sum; said outright, it lets the index on (people, machines) find the open batches.
        fewer = and_(people < k, people + machines < k)
    else:
        fewer = (people if person else machines) < k
    mine = select(AssignmentRow.id).where(AssignmentRow.batch_id == BatchRow.id, AssignmentRow.labeler_id == labeler_id)
    return select(BatchRow.id).where(fewer, ~mine.exists(), BatchRow.id.not_in(gold_ids()))


def take_place(batch: BatchRow, person: bool) -> None:
    """Count a new assignment of `batch` (flushed with it, as one UPDATE that adds 1)."""
    if person:
        batch.held_by_people = BatchRow.held_by_people + 1
    else:
        batch.held_by_machines = BatchRow.held_by_machines + 1


def places_taken(batch: BatchRow, person: bool, count_machines: bool) -> int:
    """The holders of `batch` that count against labelers_per_batch for this labeler."""
    if count_machines:
        return batch.held_by_people + batch.held_by_machines
    return batch.held_by_people if person else batch.held_by_machines


def became_person(s: Session, labeler_id: int, had_password: Optional[str]) -> None:
    """A labeler without a password was given one: their batches now count them among the people."""
    if had_password is not None:
        return
    held = select(AssignmentRow.batch_id).where(AssignmentRow.labeler_id == labeler_id)
    s.execute(update(BatchRow).where(BatchRow.id.in_(held))
              .values(held_by_people=BatchRow.held_by_people + 1, held_by_machines=BatchRow.held_by_machines - 1)
              .execution_options(synchronize_session=False))


def counted_holders(s: Session) -> dict[int, tuple[int, int]]:
    """{batch id: (people, machines)} counted from the assignments: what the counters must equal (for checks)."""
    rows = s.execute(select(AssignmentRow.batch_id, LabelerRow.password_hash.is_not(None))
                     .join(LabelerRow, LabelerRow.id == AssignmentRow.labeler_id))
    counts: dict[int, list[int]] = {}
    for batch_id, person in rows:
        counts.setdefault(batch_id, [0, 0])[0 if person else 1] += 1
    return {batch_id: (people, machines) for batch_id, (people, machines) in counts.items()}
