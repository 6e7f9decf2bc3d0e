"""Reward normalisation: a gain and bias that give mean 0, std 1 on samples of the base policy.

The paper sets them before training (so the policy's starting reward scale is known) and again
after; the samples are the base policy's own continuations of training queries.
"""

from __future__ import annotations

from typing import Iterator

import torch

from reward.data import Choice, collate, encode_choice
from reward.trainer import batch_rewards


@torch.no_grad()
def rewards(model, tokenizer, pairs: list[tuple[str, str]], batch_size: int = 16,
            max_query: int = 512, max_response: int = 128) -> torch.Tensor:
    """Normalised rewards for (query, response) texts, encoded as training encodes them, in order.

    Consecutive pairs with one query are scored as one label's samples, as training scores them:
    the query runs once and its keys and values serve every response (`batch_features`). A batch
    holds up to `batch_size` sequences, in whole groups.
    """
    model.eval()
    device = next(model.parameters()).device
    out = []
    for batch_groups in _batches(_same_query_runs(pairs), batch_size):
        features = [encode_choice(tokenizer, Choice("", query, responses, 0), max_query, max_response)
                    for query, responses in batch_groups]
        batch = {k: v.to(device) for k, v in collate(features, tokenizer.pad_token_id).items()}
        out.append(batch_rewards(model, batch).reshape(-1).float().cpu())
    return torch.cat(out) if out else torch.zeros(0)


def _same_query_runs(pairs: list[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    runs: list[tuple[str, list[str]]] = []
    for query, response in pairs:
        if runs and runs[-1][0] == query:
            runs[-1][1].append(response)
        else:
            runs.append((query, [response]))
    return runs


def _batches(runs: list[tuple[str, list[str]]], batch_size: int) -> Iterator[list[tuple[str, list[str]]]]:
    """Consecutive runs of one size (a batch's labels all have n samples), about batch_size sequences each."""
    batch: list[tuple[str, list[str]]] = []
    for run in runs:
        if batch and (len(run[1]) != len(batch[0][1]) or len(run[1]) * (len(batch) + 1) > batch_size):
            yield batch
            batch = []
        batch.append(run)
    if batch:
        yield batch


def raw_rewards(model, tokenizer, pairs: list[tuple[str, str]], batch_size: int = 16) -> torch.Tensor:
    """Rewards before gain and bias."""
    return model.score.unnormalize(rewards(model, tokenizer, pairs, batch_size))


def fit_normalization(raw: torch.Tensor, mean: float = 0.0, std: float = 1.0) -> tuple[float, float]:
    """Gain and bias mapping these raw rewards to the target mean and std."""
    spread = raw.std().item()
    if not spread > 0:
        raise ValueError("the normalisation samples all get the same reward; use more (and different) samples")
    gain = std / spread
    return gain, mean - gain * raw.mean().item()


def normalize(model, tokenizer, pairs: list[tuple[str, str]], batch_size: int = 16) -> tuple[float, float]:
    """Set the model's gain and bias from these base-policy samples; returns them."""
    gain, bias = fit_normalization(raw_rewards(model, tokenizer, pairs, batch_size))
    model.score.set_normalization(gain, bias)
    return gain, bias
