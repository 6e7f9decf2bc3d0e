"""Drawing each sampled token with one random number per row instead of one per vocabulary entry.

generate()'s sampling calls torch.multinomial, which on a CPU draws an exponential variate for
every vocabulary entry of every row at every step (SmolLM2 has 49,152 entries), with a scalar
random number generator: measured by bench/sampler.py, a large share of a sampling step. Inverting
the cumulative distribution draws from the same distribution with one uniform number per row.

generate() runs greedy with these processors last: the temperature and top-k/top-p warpers are
transformers' own, then `InverseCdfSampler` draws the token and leaves it the only one with a
finite score, which greedy selection then takes. The raw logits generate() returns are untouched.
"""

from __future__ import annotations

import torch
from transformers import LogitsProcessor, LogitsProcessorList, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper


class InverseCdfSampler(LogitsProcessor):
    """Replaces each row's scores by 0 at a token drawn from softmax(scores) and -inf elsewhere."""

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        tokens = draw(scores)
        chosen = torch.full_like(scores, float("-inf"))
        return chosen.scatter_(1, tokens, 0.0)


def draw(scores: torch.Tensor) -> torch.Tensor:
    """(rows, 1) token ids drawn from softmax(scores), one uniform number per row."""
    probs = scores.float().softmax(-1)
    cdf = probs.double().cumsum(-1)  # float64: the tail's probabilities would vanish in a float32 sum
    point = torch.rand(scores.shape[0], 1, dtype=torch.float64, device=scores.device) * cdf[:, -1:]
    tokens = torch.searchsorted(cdf, point, right=True).clamp_(max=scores.shape[-1] - 1)
    # Only a draw rounded onto the very end of the distribution can land on a token of probability 0.
    return torch.where(probs.gather(1, tokens) > 0, tokens, probs.argmax(-1, keepdim=True))


def sampling_processors(temperature: float, top_k: int, top_p: float) -> LogitsProcessorList:
    """The warpers generate()'s sampling would apply, in its order, then the draw."""
    processors = LogitsProcessorList()
    if temperature != 1.0:
        processors.append(TemperatureLogitsWarper(temperature))
    if top_k:
        processors.append(TopKLogitsWarper(top_k))
    if top_p < 1.0:
        processors.append(TopPLogitsWarper(top_p))
    processors.append(InverseCdfSampler())
    return processors
