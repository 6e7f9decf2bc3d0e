"""From a batch of rollouts to per-token rewards, advantages and returns (Ziegler et al. 2019, section 2.2).

Every tensor here is (batch, response_length) over the response tokens, with `mask` marking the
tokens the task's truncation rule kept: the KL penalty, the values and the advantages all live
on those tokens only, and the reward model's score is added at the last kept token.
"""

from __future__ import annotations

import torch


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp(min=1)


def whiten(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit variance over the kept tokens; zeros elsewhere."""
    mean = masked_mean(values, mask)
    var = masked_mean((values - mean) ** 2, mask)
    return ((values - mean) * torch.rsqrt(var + 1e-8)).masked_fill(~mask, 0.0)


def last_kept_index(mask: torch.Tensor) -> torch.Tensor:
    """Index of the last kept token per row (the truncation keeps at least the first token)."""
    return mask.long().sum(1).clamp(min=1) - 1


def kl_penalized_rewards(scores: torch.Tensor, logprobs: torch.Tensor, ref_logprobs: torch.Tensor,
                         mask: torch.Tensor, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """r_t = -beta * (log pi(y_t) - log rho(y_t)), plus the score at the last kept token.

    Returns the rewards and the per-token KL estimate (both zero past the truncation).
    """
    kl = (logprobs - ref_logprobs).masked_fill(~mask, 0.0)
    rewards = -beta * kl
    rows = torch.arange(rewards.shape[0], device=rewards.device)
    rewards[rows, last_kept_index(mask)] += scores.to(rewards.dtype)
    return rewards, kl


def generalized_advantages(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor,
                           gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE(gamma, lambda) over the kept tokens; returns (whitened advantages, returns)."""
    values = values.masked_fill(~mask, 0.0)
    rewards = rewards.masked_fill(~mask, 0.0)
    last = torch.zeros_like(rewards[:, 0])
    reversed_advantages = []
    for t in reversed(range(rewards.shape[1])):
        next_value = values[:, t + 1] if t + 1 < rewards.shape[1] else torch.zeros_like(last)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        last = delta + gamma * lam * last
        reversed_advantages.append(last)
    advantages = torch.stack(reversed_advantages[::-1], dim=1).masked_fill(~mask, 0.0)
    returns = advantages + values
    return whiten(advantages, mask), returns
