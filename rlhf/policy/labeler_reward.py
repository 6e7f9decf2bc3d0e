"""The simulated labeler as PPO's reward: how far PPO gets in a budget when the reward is perfect.

`policy.reward: simulated` scores each cut response with the task's simulated labeler (VADER for
sentiment, the lexicon for descriptiveness) instead of a trained reward model. Its scores are used
as they are, not normalised: they are the quantity the evaluation judges, so this run bounds what
a reward model of the labeler could give in the same number of episodes.
"""

from __future__ import annotations

import torch
from torch import nn

from rlhf.errors import ConfigError
from rlhf.labeling.simulated import scorer

NEEDS_NO_REFERENCE = ("sentiment", "descriptiveness")


class LabelerReward(nn.Module):
    """query + cut response token ids -> the simulated labeler's score of the decoded response."""

    def __init__(self, kind: str, tokenizer):
        super().__init__()
        if kind not in NEEDS_NO_REFERENCE:
            raise ConfigError("policy.reward", f"simulated needs a task labeler that scores without a reference "
                                               f"({', '.join(NEEDS_NO_REFERENCE)}); this task's is {kind!r}")
        self.kind, self.tokenizer, self.score_text = kind, tokenizer, scorer(kind)
        self.register_buffer("anchor", torch.zeros(()))  # TRL moves the reward model to its device; a buffer says which

    @torch.no_grad()
    def forward(self, queries: torch.Tensor, cut: torch.Tensor) -> torch.Tensor:
        prompts = self.tokenizer.batch_decode(queries, skip_special_tokens=True)  # pads are special tokens
        responses = self.tokenizer.batch_decode(cut, skip_special_tokens=True)
        scores = [self.score_text(prompt, response, None) for prompt, response in zip(prompts, responses)]
        return torch.tensor(scores, dtype=torch.float32, device=queries.device)
