import math

import pytest
import torch

from reward.loss import best_of_n_accuracy, best_of_n_loss, calibration_error, implied_pair_accuracy, pairwise_loss


def test_best_of_n_loss_equals_a_hand_computation():
    rewards = torch.tensor([[1.0, 2.0, 0.5, -1.0], [0.0, 0.0, 3.0, 1.0]])
    choice = torch.tensor([1, 3])
    by_hand = []
    for r, c in zip(rewards.tolist(), choice.tolist()):
        by_hand.append(-(r[c] - math.log(sum(math.exp(x) for x in r))))
    assert best_of_n_loss(rewards, choice).item() == pytest.approx(sum(by_hand) / 2, rel=1e-6)


def test_pairwise_loss_is_best_of_two():
    chosen, rejected = torch.tensor([1.5, -0.2]), torch.tensor([0.5, 0.3])
    expected = -(math.log(1 / (1 + math.exp(-1.0))) + math.log(1 / (1 + math.exp(0.5)))) / 2
    assert pairwise_loss(chosen, rejected).item() == pytest.approx(expected, rel=1e-6)
    pairs = torch.stack([chosen, rejected], dim=1)
    assert best_of_n_loss(pairs, torch.zeros(2, dtype=torch.long)).item() == pytest.approx(expected, rel=1e-6)


def test_accuracies():
    rewards = torch.tensor([[0.1, 0.9, 0.2, 0.3], [0.5, 0.1, 0.2, 0.0]])
    choice = torch.tensor([1, 2])
    assert best_of_n_accuracy(rewards, choice) == 0.5
    # label 1: chosen beats all 3; label 2: chosen (0.2) beats 0.1 and 0.0, loses to 0.5
    assert implied_pair_accuracy(rewards, choice) == pytest.approx(5 / 6)


def test_calibration_error_is_zero_when_confidence_matches_accuracy():
    sure = torch.tensor([[20.0, 0.0, 0.0, 0.0]] * 4)
    assert calibration_error(sure, torch.zeros(4, dtype=torch.long)) == pytest.approx(0.0, abs=1e-6)
    assert calibration_error(sure, torch.ones(4, dtype=torch.long)) == pytest.approx(1.0, abs=1e-6)
