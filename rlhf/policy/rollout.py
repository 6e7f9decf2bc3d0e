"""One batch of PPO experience: sample, cut by the task's rule, score, and read log-probs and values.

This is where the paper's reward differs from TRL's PPOTrainer, which cuts every response at the
first stop token anywhere and subtracts a penalty only when EOS is missing. Here each response is
cut after its first truncation token at or after `truncate_after` (`rlhf.tasks.truncation.truncate_responses`),
the reward model scores the cut response, a response without such a token gets `penalty_reward`
instead of its score, and everything past the cut is masked out of the KL, the values and the loss.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, fields
from typing import Callable, Optional

import torch

from reward.model import sequence_rewards
from rlhf.generation import SamplingSettings, sample_tokens, sample_with_states
from rlhf.models.padding import real_columns
from rlhf.policy.labeler_reward import LabelerReward
from rlhf.policy.reference_features import SharedTrunkReward
from rlhf.policy.value_head import SharedTrunkPolicyValue, policy_and_values, reference_logits, token_logprobs
from rlhf.tasks.truncation import truncate_responses


@dataclass
class ResponseRule:
    """The task's truncation rule and penalty, as token ids."""

    stop_ids: list[int]
    truncate_after: int
    penalty_reward: Optional[float]  # None: responses without a stop token are scored as they are


@dataclass
class Rollout:
    queries: torch.Tensor  # (B, Q) left-padded
    responses: torch.Tensor  # (B, R) as sampled
    mask: torch.Tensor  # (B, R) True on the tokens the truncation rule keeps
    logprobs: torch.Tensor  # (B, R) under the policy that sampled them
    ref_logprobs: torch.Tensor  # (B, R) under the frozen reference
    values: torch.Tensor  # (B, R)
    scores: torch.Tensor  # (B,) normalised reward, penalty_reward where no truncation token was found
    raw_scores: torch.Tensor  # (B,) the reward head before normalisation
    found_stop: torch.Tensor  # (B,) bool

    @property
    def query_responses(self) -> torch.Tensor:
        return torch.cat([self.queries, self.responses], dim=1)

    def cut_responses(self, pad_token_id: int) -> torch.Tensor:
        return self.responses.masked_fill(~self.mask, pad_token_id)

    @classmethod
    def concat(cls, parts: list["Rollout"]) -> "Rollout":
        return cls(**{f.name: torch.cat([getattr(p, f.name) for p in parts]) for f in fields(cls)})

    def take(self, index: torch.Tensor) -> "Rollout":
        """The rows `index` selects, in its order."""
        return Rollout(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


def length_order(queries: torch.Tensor, pad_token_id: int) -> torch.Tensor:
    """Row indices from the shortest query to the longest (ties in their order)."""
    return torch.argsort((queries != pad_token_id).sum(1), stable=True)


def _left_pad_queries(rollout: Rollout, width: int, pad_token_id: int) -> Rollout:
    """`rollout` with its queries left-padded back to `width` columns, so chunks cut shorter concatenate."""
    missing = width - rollout.queries.shape[1]
    if missing:
        rollout.queries = torch.nn.functional.pad(rollout.queries, (missing, 0), value=pad_token_id)
    return rollout


def score_responses(reward_model, queries: torch.Tensor, cut: torch.Tensor, found: torch.Tensor, pad_token_id: int,
                    penalty_reward: Optional[float], block_output: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(normalised scores with the penalty applied, raw head outputs) of query + cut response.

    A `SharedTrunkReward` reads `block_output`, its last block's output from the reference pass over
    query + response (leading all-padding columns dropped, as `model_inputs` drops them).
    """
    if isinstance(reward_model, LabelerReward):
        scores = raw = reward_model(queries, cut)
    else:
        scores, raw = _reward_model_scores(reward_model, queries, cut, pad_token_id, block_output)
    if penalty_reward is None:
        return scores, raw
    return torch.where(found, scores, torch.full_like(scores, penalty_reward)), raw


def _reward_model_scores(reward_model, queries, cut, pad_token_id, block_output=None) -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.cat([queries, cut], dim=1)
    mask = ids != pad_token_id
    response = torch.cat([torch.zeros_like(queries, dtype=torch.bool), cut != pad_token_id], dim=1)
    if isinstance(reward_model, SharedTrunkReward):
        kept = slice(ids.shape[1] - block_output.shape[1], None)  # the columns the reference pass kept
        features = reward_model.features(block_output, mask[:, kept].long(), response[:, kept])
        reward_model = reward_model.model
        scores = reward_model.score(features).squeeze(-1).float()
    else:
        scores = sequence_rewards(reward_model, ids.masked_fill(~mask, 0), mask.long(), response).float()
    return scores, reward_model.score.unnormalize(scores)


@torch.no_grad()
def collect(policy_value, reference: Callable[[], AbstractContextManager], reward_model, queries: torch.Tensor,
            sampling: SamplingSettings, rule: ResponseRule, pad_token_id: int, eos_token_id: Optional[int],
            chunk: Optional[int] = None) -> Rollout:
    """Experience for a batch of queries, generated and scored `chunk` queries at a time.

    `policy_value` is the (unwrapped) policy-and-value model; `reference()` is a context manager
    giving the frozen reference model (with LoRA: the policy with its adapter switched off).
    """
    chunk = chunk or queries.shape[0]
    # Chunks of similar lengths, each cut to its own longest query: a short document is not padded to
    # the longest of the whole batch. The rollout comes back in the batch's order.
    order = length_order(queries, pad_token_id) if chunk < queries.shape[0] else None
    ordered = queries[order] if order is not None else queries
    parts = []
    for start in range(0, queries.shape[0], chunk):
        part = ordered[start : start + chunk]
        parts.append(_collect_chunk(policy_value, reference, reward_model, part[:, real_columns(part != pad_token_id, trailing=False)],
                                    sampling, rule, pad_token_id, eos_token_id))
    width = queries.shape[1]
    rollout = Rollout.concat([_left_pad_queries(part, width, pad_token_id) for part in parts])
    return rollout if order is None else rollout.take(torch.argsort(order))


def _collect_chunk(policy_value, reference, reward_model, queries, sampling, rule, pad_token_id, eos_token_id) -> Rollout:
    length = sampling.max_new_tokens
    responses, logprobs, values = _sample_and_read(policy_value, queries, sampling, pad_token_id, eos_token_id)
    cut, found = truncate_responses(responses, rule.stop_ids, rule.truncate_after, pad_token_id)
    mask = cut != pad_token_id
    query_responses = torch.cat([queries, responses], dim=1)
    with reference() as ref_model, _kept_block(reward_model, ref_model) as kept:
        ref_logprobs = token_logprobs(reference_logits(ref_model, query_responses, pad_token_id, length), responses,
                                      sampling.temperature)
    scores, raw = score_responses(reward_model, queries, cut, found, pad_token_id, rule.penalty_reward,
                                  block_output=kept[0] if kept else None)
    return Rollout(queries, responses, mask, logprobs, ref_logprobs, values.float(), scores, raw, found)


def _sample_and_read(policy_value, queries, sampling, pad_token_id, eos_token_id):
    """(responses, their log-probs under the sampling policy, values).

    With the value head on the policy's trunk, sampling has computed both already (the paper and
    TRL read the sampling pass too); a separate value model needs its own pass over the tokens.
    """
    attention_mask = (queries != pad_token_id).long()
    if isinstance(policy_value, SharedTrunkPolicyValue):
        sampled = sample_with_states(policy_value.policy, queries, attention_mask, sampling, pad_token_id, eos_token_id)
        values = policy_value.value_model(sampled.hidden.to(policy_value.value_model.head.weight.dtype))[..., 0]
        return sampled.responses, token_logprobs(sampled.logits, sampled.responses, sampling.temperature), values
    responses = sample_tokens(policy_value.policy, queries, attention_mask, sampling, pad_token_id, eos_token_id)
    logits, values = policy_and_values(policy_value, torch.cat([queries, responses], dim=1), pad_token_id,
                                       sampling.max_new_tokens)
    return responses, token_logprobs(logits, responses, sampling.temperature), values


def _kept_block(reward_model, reference) -> AbstractContextManager:
    """Where the reward reads the reference pass, the pass keeps its block output (else nothing is kept)."""
    return reward_model.capture(reference) if isinstance(reward_model, SharedTrunkReward) else nullcontext([])
