"""Gold accuracy: how often each labeler chose the known best of a gold batch, with a 95% Wilson interval.

Plain functions over the labels of `LabelStore.label_facts()` and the store's gold answers (`gold_answers()`,
{batch id: best index in the stored order}), like `stats.py`: the dashboard, `rlhf gold list` and the
reward trainer's `reward.min_gold_accuracy` see the same figures. A labeler's newest label of a batch
counts; a skip or a flag of a gold batch is not scored (it is neither right nor wrong) but counted as
passed. Beside it, agreement with the majority of the other labelers of a batch
(`agreement.majority_agreement`), which needs no known answer. A labeler is flagged (`below`) when
their accuracy is under the threshold on at least a minimum number of gold answers, so that one miss
on the first gold item flags nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from rlhf.labeling.agreement import majority_agreement
from rlhf.labeling.stats import by_labeler_id, is_choice, latest_per_labeler


@dataclass
class GoldScore:
    labeler_id: int
    name: str
    answered: int  # choices on gold batches
    correct: int  # of them, the known best
    passed: int  # skips and flags of gold batches: not scored
    majority_agreed: int  # choices equal to the other labelers' majority
    majority_batches: int  # choices on batches where the others had a majority

    @property
    def accuracy(self) -> Optional[float]:
        return self.correct / self.answered if self.answered else None

    @property
    def interval(self) -> tuple[Optional[float], Optional[float]]:
        """The 95% Wilson score interval of the accuracy (None, None without gold answers)."""
        return wilson(self.correct, self.answered)

    @property
    def majority_agreement(self) -> Optional[float]:
        return self.majority_agreed / self.majority_batches if self.majority_batches else None

    def below(self, min_accuracy: float, min_items: int) -> bool:
        """Under `min_accuracy` on at least `min_items` gold answers."""
        return self.answered >= max(min_items, 1) and self.accuracy < min_accuracy


def wilson(successes: int, n: int) -> tuple[Optional[float], Optional[float]]:
    if not n:
        return None, None
    from statsmodels.stats.proportion import proportion_confint  # imported when needed: the app starts faster

    low, high = proportion_confint(successes, n, alpha=0.05, method="wilson")
    return float(low), float(high)


def tally(labels: Iterable, answers: dict[int, int]) -> dict[int, tuple[int, int]]:
    """{labeler id: (choices that were the known best, choices on gold batches)} of labelers who chose on one."""
    counts: dict[int, list[int]] = {}
    for label in latest_per_labeler(labels):
        if label.batch_id in answers and is_choice(label):
            mine = counts.setdefault(label.labeler_id, [0, 0])
            mine[0] += label.choice == answers[label.batch_id]
            mine[1] += 1
    return {labeler: (correct, answered) for labeler, (correct, answered) in counts.items()}


def gold_scores(labels: Iterable, answers: dict[int, int], names: dict[int, str]) -> list[GoldScore]:
    """One row per labeler with a label, by name: gold accuracy, passes and agreement with the majority."""
    labels = latest_per_labeler(labels)
    tallies = tally(labels, answers)
    majority = majority_agreement(labels)
    rows = []
    for labeler_id, mine in sorted(by_labeler_id(labels).items()):
        correct, answered = tallies.get(labeler_id, (0, 0))
        agreed, shared = majority.get(labeler_id, (0, 0))
        passed = sum(1 for label in mine if label.batch_id in answers and not is_choice(label))
        rows.append(GoldScore(labeler_id, names.get(labeler_id, f"#{labeler_id}"), answered, correct, passed, agreed, shared))
    return sorted(rows, key=lambda row: row.name)
