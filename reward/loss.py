"""Reward-model losses: the paper's best-of-n cross-entropy, and pairwise Bradley-Terry."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def best_of_n_loss(rewards: torch.Tensor, choice: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of softmax(r_0..r_{n-1}) against the chosen index; rewards: (batch, n)."""
    return F.cross_entropy(rewards, choice)


def pairwise_loss(chosen: torch.Tensor, rejected: torch.Tensor) -> torch.Tensor:
    """-log sigmoid(r_chosen - r_rejected), averaged: the loss for data that only has pairs."""
    return -F.logsigmoid(chosen - rejected).mean()


def best_of_n_accuracy(rewards: torch.Tensor, choice: torch.Tensor) -> float:
    """Share of labels whose highest-reward sample is the labeler's choice (chance: 1/n)."""
    return (rewards.argmax(dim=1) == choice).float().mean().item()


def implied_pair_accuracy(rewards: torch.Tensor, choice: torch.Tensor) -> float:
    """Share of the n-1 pairs each choice implies (chosen beats each other sample) that the rewards order right."""
    chosen = rewards.gather(1, choice[:, None])
    others = torch.ones_like(rewards, dtype=torch.bool).scatter(1, choice[:, None], False)
    return (chosen > rewards)[others].float().mean().item()


def calibration_error(rewards: torch.Tensor, choice: torch.Tensor, bins: int = 10) -> float:
    """Expected calibration error of the model's probability for its own top pick."""
    probs = rewards.softmax(dim=1)
    confidence, pick = probs.max(dim=1)
    correct = (pick == choice).float()
    edges = torch.linspace(0, 1, bins + 1)
    error = torch.tensor(0.0)
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (confidence > lo) & (confidence <= hi)
        if inside.any():
            error += inside.float().mean() * (confidence[inside].mean() - correct[inside].mean()).abs()
    return error.item()
