"""A small labeled store shared by the export and import tests."""

from __future__ import annotations

from pathlib import Path

from rlhf.labeling.store import LabelStore, sqlite_url

QUERIES = [
    {"id": "q0", "task": "tldr", "prompt": "Article: the council met.\n\nTL;DR:", "reference": "Council met.", "split": "train"},
    {"id": "q1", "task": "tldr", "prompt": "Article: rain fell — “heavily”.\n\nTL;DR:", "reference": None, "split": "eval"},
    {"id": "q2", "task": "tldr", "prompt": "Article: a café opened.\n\nTL;DR:", "reference": "Café opens.", "split": "train"},
]
SETTINGS = {"temperature": 0.7, "top_k": 0, "top_p": 1.0, "max_new_tokens": 75, "truncate_token": "\n"}


def labeled_store(path: Path) -> LabelStore:
    """Three batches; alice labels all three (one corrected), bob labels one, carol skips and dave flags."""
    store = LabelStore(sqlite_url(path))
    store.add_queries(QUERIES)
    b0 = store.add_batch("q0", [" The council met.", " A meeting.", " Nothing.", " Rain."], "base", 0, SETTINGS, 3)
    b1 = store.add_batch("q1", [" It rained.", " Heavy rain fell.", " Sun.", " A café."], "policy-r1", 1, {}, 4)
    b2 = store.add_batch("q2", [" A café opened.", " Café!", " Coffee.", " Tea."], "base", 0, SETTINGS, 5)
    alice = store.ensure_labeler("alice").id
    bob = store.ensure_labeler("bob").id
    carol = store.ensure_labeler("carol").id
    dave = store.ensure_labeler("dave").id
    first = store.submit(alice, b0, choice=1, shown_order=[3, 1, 0, 2], seconds=12.5)
    store.correct(first, choice=0)  # only the correction is effective
    store.submit(alice, b1, choice=2, shown_order=[0, 1, 2, 3], seconds=4.0)
    store.submit(alice, b2, choice=3, shown_order=None, seconds=None)
    store.submit(bob, b0, choice=2, shown_order=[2, 0, 3, 1], seconds=7.25)
    store.submit(carol, b1, skipped=True, reason="cannot judge", seconds=3.0)
    store.submit(dave, b2, flagged=True, reason="broken prompt", shown_order=[0, 1, 2, 3])
    return store


def table_counts(store: LabelStore) -> dict:
    from sqlalchemy import func, select

    from rlhf.labeling.schema import AssignmentRow, BatchRow, LabelerRow, LabelRow, QueryRow

    with store.session() as s:
        return {t.__tablename__: s.scalar(select(func.count()).select_from(t))
                for t in (QueryRow, BatchRow, LabelerRow, LabelRow, AssignmentRow)}
