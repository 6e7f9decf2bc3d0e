"""What people judged on the Compare page: pairs judged per person, pairs still open, win rates.

Reads comparison rows (`LabelStore.comparisons()`: a, b, judge, winner). A row is open while its
winner is null (its judge, if any, has claimed it). Only people judge pairs: the Compare page is
for labelers who sign in, and no simulated labeler judges comparisons.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from rlhf.evaluation.win_rates import WinRate, comparison_win_rates


@dataclass
class HumanEvaluation:
    judged: int  # pairs people judged
    open: int  # pairs nobody has judged yet
    claimed: int  # open pairs shown to a person who has not judged them yet
    judges: dict[str, int]  # person: pairs judged, most first
    win_rates: dict[str, WinRate]  # system: against the baseline, by name

    def rates(self) -> dict[str, dict]:
        """The win rates as `rlhf evaluate` records them in eval/metrics.json (judge `human`)."""
        return {system: rate.to_dict() for system, rate in self.win_rates.items()}


def human_evaluation(comparisons: Iterable, baseline: str = "zero-shot") -> HumanEvaluation:
    rows = list(comparisons)
    judged = [row for row in rows if row.winner is not None]
    open_rows = [row for row in rows if row.winner is None]
    return HumanEvaluation(judged=len(judged), open=len(open_rows), claimed=sum(1 for row in open_rows if row.judge),
                           judges=dict(Counter(row.judge or "(unnamed)" for row in judged).most_common()),
                           win_rates=dict(sorted(comparison_win_rates(judged, baseline).items())))
