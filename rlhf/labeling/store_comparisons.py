"""Pairwise comparisons for human evaluation: two systems' texts for one query, judged a, b or tie.

Part of the store: `Comparisons` is mixed into `LabelStore` (`rlhf/labeling/store.py`). A labeler
claims one open comparison at a time (`next_comparison`, which also records when: the Compare page
counts reading time from `claimed_at`), judges it (`judge_comparison`), or hands claims back
(`release_comparisons`). Which system is a or b never reaches the page (`labeling_app/compare_page.py`).
"""

from __future__ import annotations

from typing import NamedTuple, Optional

from sqlalchemy import func, or_, select, update

from rlhf.errors import RLHFError
from rlhf.labeling.schema import ComparisonRow, utcnow


class ComparisonProgress(NamedTuple):
    done: int  # comparisons this labeler judged
    remaining: int  # open comparisons they can still be given (their claims and unclaimed ones)


class Comparisons:
    """Mixed into LabelStore, which provides `session()`."""

    def add_comparison(self, query_id: str, a: str, b: str, a_text: str, b_text: str,
                       judge: Optional[str] = None, winner: Optional[str] = None) -> int:
        if winner not in (None, "a", "b", "tie"):
            raise RLHFError(f"a comparison's winner is a, b or tie, not {winner!r}")
        with self.session() as s, s.begin():
            row = ComparisonRow(query_id=query_id, a=a, b=b, a_text=a_text, b_text=b_text, judge=judge, winner=winner)
            s.add(row)
            s.flush()
            return row.id

    def comparisons(self) -> list[ComparisonRow]:
        with self.session() as s:
            return list(s.scalars(select(ComparisonRow).order_by(ComparisonRow.id)))

    # Human pairwise evaluation (the app's Compare page). A comparison is open while its winner is
    # null. Its `judge` column doubles as a claim: `next_comparison` writes the labeler's name into
    # an open, unclaimed row before handing it out, so two labelers are never shown the same open
    # comparison. A labeler first gets back their own claimed-but-unjudged row (a reload shows the
    # same one), else claims the oldest unclaimed row with `UPDATE ... WHERE judge IS NULL` and checks
    # that it changed one row (a concurrent labeler who claimed it first makes it try the next).
    # A claim lasts until the labeler judges the row; `release_comparisons` hands back the claims of
    # a labeler who left.

    def next_comparison(self, labeler_name: str) -> Optional[ComparisonRow]:
        """The labeler's claimed open comparison, else the oldest unclaimed one, now claimed; None when none is left."""
        if not labeler_name:
            raise RLHFError("a comparison is claimed by a labeler's name, which is empty")
        with self.session() as s, s.begin():
            mine = s.scalar(select(ComparisonRow).where(ComparisonRow.judge == labeler_name, ComparisonRow.winner.is_(None))
                            .order_by(ComparisonRow.id).limit(1))
            if mine is not None:
                return mine
        while True:  # each pass either claims a row or sees one claimed by someone else: it ends
            with self.session() as s, s.begin():
                candidate = s.scalar(select(ComparisonRow.id).where(ComparisonRow.judge.is_(None), ComparisonRow.winner.is_(None))
                                     .order_by(ComparisonRow.id).limit(1))
                if candidate is None:
                    return None
                claimed = s.execute(update(ComparisonRow)
                                    .where(ComparisonRow.id == candidate, ComparisonRow.judge.is_(None), ComparisonRow.winner.is_(None))
                                    .values(judge=labeler_name, claimed_at=utcnow()).execution_options(synchronize_session=False))
                if claimed.rowcount == 1:
                    return s.get(ComparisonRow, candidate, populate_existing=True)

    def judge_comparison(self, comparison_id: int, labeler_name: str, winner: str) -> bool:
        """Record `winner` (a, b or tie) of a comparison open to this labeler; True when stored now.

        Judging a comparison this labeler has already judged changes nothing and returns False (a
        double click, a retried request). A comparison claimed or judged by another labeler is refused.
        """
        if winner not in ("a", "b", "tie"):
            raise RLHFError(f"a comparison's winner is a, b or tie, not {winner!r}")
        if not labeler_name:
            raise RLHFError("a comparison is judged by a labeler's name, which is empty")
        with self.session() as s, s.begin():
            row = s.get(ComparisonRow, comparison_id)
            if row is None:
                raise RLHFError(f"unknown comparison id {comparison_id}")
            if row.judge not in (None, labeler_name):
                state = "judged" if row.winner is not None else "claimed"
                raise RLHFError(f"comparison {comparison_id} is {state} by another labeler")
            if row.winner is not None:
                return False  # already judged by this labeler: keep the first judgement
            done = s.execute(update(ComparisonRow)
                             .where(ComparisonRow.id == comparison_id, ComparisonRow.winner.is_(None),
                                    or_(ComparisonRow.judge.is_(None), ComparisonRow.judge == labeler_name))
                             .values(judge=labeler_name, winner=winner).execution_options(synchronize_session=False))
            if done.rowcount != 1:  # only without SQLite's write lock at BEGIN: someone came between
                raise RLHFError(f"comparison {comparison_id} was judged or claimed by another labeler meanwhile")
            return True

    def comparison_progress(self, labeler_name: str) -> ComparisonProgress:
        """(judged by this labeler, still open to them: their claims and the unclaimed rows)."""
        with self.session() as s:
            done = s.scalar(select(func.count()).where(ComparisonRow.judge == labeler_name, ComparisonRow.winner.is_not(None)))
            remaining = s.scalar(select(func.count()).where(
                ComparisonRow.winner.is_(None), or_(ComparisonRow.judge.is_(None), ComparisonRow.judge == labeler_name)))
        return ComparisonProgress(done, remaining)

    def release_comparisons(self, labeler_name: str) -> int:
        """Hand back the open comparisons `labeler_name` claimed but never judged; returns how many."""
        with self.session() as s, s.begin():
            released = s.execute(update(ComparisonRow)
                                 .where(ComparisonRow.judge == labeler_name, ComparisonRow.winner.is_(None))
                                 .values(judge=None, claimed_at=None).execution_options(synchronize_session=False))
            return released.rowcount
