"""Gold accuracy per labeler (rlhf/labeling/gold.py): tallies of the newest labels, the Wilson interval
(checked against the project's own Wilson formula in rlhf.evaluation.win_rates), passes, the flag."""

import itertools
from types import SimpleNamespace

import pytest

from rlhf.evaluation.win_rates import wilson as wilson_by_formula
from rlhf.labeling.gold import GoldScore, gold_scores, tally, wilson

_ids = itertools.count(1)
ANSWERS = {1: 0, 2: 1, 3: 2, 4: 3}  # batch: best


def label(batch, labeler, choice=None, skipped=False, flagged=False):
    return SimpleNamespace(id=next(_ids), batch_id=batch, labeler_id=labeler, choice=choice, skipped=skipped,
                           flagged=flagged, shown_order=[0, 1, 2, 3])


def test_each_labelers_newest_choice_on_a_gold_batch_is_scored():
    labels = [label(1, 7, 0), label(2, 7, 0), label(2, 7, 1),  # 7 corrected batch 2 to the right answer
              label(3, 7, skipped=True), label(4, 7, 3), label(5, 7, 0),  # a pass; batch 5 is not gold
              label(1, 8, 2), label(2, 8, flagged=True)]
    assert tally(labels, ANSWERS) == {7: (3, 3), 8: (0, 1)}
    rows = {row.name: row for row in gold_scores(labels, ANSWERS, {7: "ann", 8: "bob", 9: "nobody"})}
    assert set(rows) == {"ann", "bob"}  # a labeler without labels has no row
    assert (rows["ann"].answered, rows["ann"].correct, rows["ann"].passed, rows["ann"].accuracy) == (3, 3, 1, 1.0)
    assert (rows["bob"].answered, rows["bob"].passed, rows["bob"].accuracy) == (1, 1, 0.0)


@pytest.mark.parametrize("correct, n", [(0, 1), (3, 4), (8, 10), (37, 40), (20, 20)])
def test_the_interval_is_wilsons(correct, n):
    assert wilson(correct, n) == pytest.approx(wilson_by_formula(correct, n), abs=1e-9)
    assert wilson(0, 0) == (None, None)


def test_a_labeler_is_flagged_below_the_threshold_only_on_enough_gold_answers():
    one_miss = GoldScore(1, "new", answered=1, correct=0, passed=0, majority_agreed=0, majority_batches=0)
    assert not one_miss.below(0.5, 5) and one_miss.below(0.5, 1)
    poor = GoldScore(2, "poor", answered=10, correct=4, passed=0, majority_agreed=0, majority_batches=0)
    assert poor.below(0.5, 5) and not poor.below(0.4, 5)  # 40% is not below 40%
    unanswered = GoldScore(3, "none", answered=0, correct=0, passed=2, majority_agreed=0, majority_batches=0)
    assert not unanswered.below(0.5, 0) and unanswered.accuracy is None and unanswered.majority_agreement is None


def test_agreement_with_the_majority_is_reported_beside_gold_accuracy():
    # Batch 5 (not gold): ann and bob chose 1, cy 2. The others of ann (bob 1, cy 2) tie: no majority, nor for
    # bob; cy's others both chose 1, so cy differs from the majority once.
    labels = [label(5, 7, 1), label(5, 8, 1), label(5, 9, 2), label(1, 9, 0)]
    rows = {row.name: row for row in gold_scores(labels, ANSWERS, {7: "ann", 8: "bob", 9: "cy"})}
    assert [(rows[n].majority_agreed, rows[n].majority_batches) for n in ("ann", "bob", "cy")] == [(0, 0), (0, 0), (0, 1)]
