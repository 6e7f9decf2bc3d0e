import importlib.util
import math
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location("reward_pooling", Path(__file__).parents[1] / "bench" / "reward_pooling.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_agreement_compares_only_same_prompt_pairs_the_labeler_tells_apart():
    pairs = [("q", " a"), ("q", " b"), ("q", " c"), ("r", " d"), ("r", " e"), ("r", " e")]
    prompts = ["q", "q", "q", "r", "r", "r"]
    scores = [0.0, 0.5, 0.5, 0.1, 0.9, 0.9]
    rewards = [1.0, 2.0, 0.0, 3.0, 1.0, 1.0]
    rho, alike, compared = bench.agreement(rewards, scores, prompts, pairs)
    # q: (a,b) ordered alike, (a,c) not, (b,c) tied by the labeler; r: (d,e) twice, both reversed; (e,e) identical text
    assert compared == 4 and alike == pytest.approx(1 / 4)
    # Average ranks: rewards (3, 5, 1, 6, 3, 3), scores (1, 3.5, 3.5, 2, 5.5, 5.5), both of mean 3.5;
    # the sums of co-deviations and squared deviations are -4.5, 15.5 and 16.5.
    assert rho == pytest.approx(-4.5 / math.sqrt(15.5 * 16.5))


def test_spearman_gives_tied_scores_their_average_rank():
    # Labeler ties at 0 (first in the file) must not be ordered by file position: with average
    # ranks, scores (1.5, 1.5, 3, 4) against rewards (1, 2, 3, 4) give a Pearson of 0.9487 on ranks.
    pairs = [("q", f" {i}") for i in range(4)]
    rho, _, _ = bench.agreement([1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.2, 0.7], ["q"] * 4, pairs)
    assert rho == pytest.approx(0.9486833, abs=1e-6)
