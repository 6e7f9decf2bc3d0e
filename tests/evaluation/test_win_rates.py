from types import SimpleNamespace

import pytest

from rlhf.evaluation.win_rates import WinRate, compare_means, comparison_win_rates, prompt_win_rates, tally, wilson


def test_wilson_matches_hand_values():
    # 8 of 10: p = 0.8, z = 1.96: centre (0.8 + 0.19208) / 1.38415 = 0.71683,
    # half 1.95996 * sqrt(0.016 + 0.0096037) / 1.38415 = 0.22657 -> [0.4902, 0.9434]
    low, high = wilson(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9434, abs=1e-4)
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == pytest.approx(1.0)
    assert wilson(0, 0) == (0.0, 1.0)
    low, high = wilson(50, 100)
    assert low == pytest.approx(1 - high) and low == pytest.approx(0.4038, abs=1e-4)


def test_a_tie_counts_half_a_win():
    rate = tally(["win", "win", "loss", "tie"])
    assert (rate.wins, rate.losses, rate.ties, rate.n) == (2, 1, 1, 4)
    assert rate.win_rate == pytest.approx(2.5 / 4)
    assert rate.interval == wilson(2.5, 4)
    d = rate.to_dict()
    assert d["win_rate"] == pytest.approx(0.625) and d["low"] < 0.625 < d["high"] and d["n"] == 4
    assert "62.5%" in rate.describe() and "1 tied" in rate.describe()
    with pytest.raises(KeyError):
        tally(["draw"])


def test_prompts_are_won_on_the_mean_of_their_samples():
    assert compare_means([1.0, 0.0], [0.4, 0.4]) == "win"
    assert compare_means([0.0, 0.0], [0.0]) == "tie"
    assert compare_means([-0.5], [0.0, 0.1]) == "loss"
    scores = [{"zero-shot": [0.0, 0.0], "policy": [0.5, 0.1], "other": [0.0, 0.0]},
              {"zero-shot": [0.3, 0.3], "policy": [0.0, 0.2], "other": [0.9, 0.0]},
              {"zero-shot": [0.1, 0.1], "policy": [0.3, 0.3]}]
    rates = prompt_win_rates(scores, "zero-shot")
    assert (rates["policy"].wins, rates["policy"].losses, rates["policy"].ties) == (2, 1, 0)
    assert (rates["other"].wins, rates["other"].losses, rates["other"].ties) == (1, 0, 1)
    assert "zero-shot" not in rates


def test_judged_pairs_count_for_the_system_on_either_side():
    pair = lambda a, b, winner: SimpleNamespace(a=a, b=b, winner=winner)
    rows = [pair("policy", "zero-shot", "a"), pair("zero-shot", "policy", "a"), pair("zero-shot", "policy", "b"),
            pair("policy", "zero-shot", "tie"), pair("zero-shot", "sft", "b"), pair("policy", "sft", "a"),
            pair("policy", "zero-shot", None)]
    rates = comparison_win_rates(rows, "zero-shot")
    assert rates["policy"] == WinRate(wins=2, losses=1, ties=1)
    assert rates["sft"] == WinRate(wins=1, losses=0, ties=0)
