"""`human_evaluation`: the pairs people judged, who judged them, what is open, and win rates against the baseline."""

from types import SimpleNamespace

import pytest

from rlhf.evaluation.human import human_evaluation
from rlhf.evaluation.win_rates import wilson


def pair(a, b, judge, winner):
    return SimpleNamespace(a=a, b=b, judge=judge, winner=winner)


def test_judged_open_and_claimed_pairs_are_told_apart():
    rows = [pair("policy", "zero-shot", "ann", "a"), pair("zero-shot", "policy", "ann", "tie"),
            pair("zero-shot", "sft", "bo", "a"), pair("sft", "policy", "bo", "b"),  # no baseline: no win rate
            pair("policy", "zero-shot", "bo", None), pair("policy", "zero-shot", None, None)]
    human = human_evaluation(rows)
    assert (human.judged, human.open, human.claimed) == (4, 2, 1)
    assert human.judges == {"ann": 2, "bo": 2}
    assert list(human.win_rates) == ["policy", "sft"]
    policy = human.win_rates["policy"]
    assert (policy.wins, policy.ties, policy.losses) == (1, 1, 0) and policy.interval == wilson(1.5, 2)
    assert human.rates()["sft"]["win_rate"] == 0.0 and human.rates()["policy"]["win_rate"] == pytest.approx(0.75)


def test_nothing_judged():
    human = human_evaluation([pair("policy", "zero-shot", None, None)])
    assert (human.judged, human.open, human.claimed, human.judges, human.win_rates) == (0, 1, 0, {}, {})
