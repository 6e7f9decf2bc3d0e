"""The policy and its value function, in either of two layouts, behind one forward call.

- shared (the paper's, openai/lm-human-preferences `scalar_heads=['value']`): a zero-initialised
  scalar head on the policy's own last hidden state. One trunk forward and backward give both
  the token log-probabilities and the values, so training costs half of the separate layout.
- separate (TRL's): a second full model with its own trunk and `.score` head, TRL's
  `PolicyAndValueWrapper`.

Both answer `model(**inputs) -> (policy output with .logits, values of shape (batch, length, 1))`,
so the PPO loop does not care which it has. Only the last `logits_to_keep` positions get logits:
the LM head over the query tokens would be wasted work (a sixth of the forward pass at 64+24).
"""

from __future__ import annotations

import torch
from torch import nn

from rlhf.models.padding import real_columns


class ValueHead(nn.Module):
    """The shared layout's value head: one linear layer, initialised to zero (the paper)."""

    base_model_prefix = "head"  # TRL's wrapper looks its value model's trunk up by this name

    def __init__(self, hidden_size: int):
        super().__init__()
        self.head = nn.Linear(hidden_size, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.head(hidden)


class SharedTrunkPolicyValue(nn.Module):
    """Policy plus a value head reading the policy's last hidden state: one forward for both."""

    def __init__(self, policy: nn.Module, value_head: ValueHead):
        super().__init__()
        self.policy = policy
        self.value_model = value_head
        self.config = policy.config

    @property
    def is_gradient_checkpointing(self) -> bool:  # TRL's name for it
        return getattr(self.policy, "is_activation_checkpointing", False)

    @property
    def is_activation_checkpointing(self) -> bool:
        return self.is_gradient_checkpointing

    def gradient_checkpointing_enable(self, **kwargs):
        self.policy.gradient_checkpointing_enable(**kwargs)

    def gradient_checkpointing_disable(self):
        self.policy.gradient_checkpointing_disable()

    def forward(self, logits_to_keep: int = 0, **inputs):
        output = self.policy(**inputs, output_hidden_states=True, logits_to_keep=logits_to_keep)
        hidden = output.hidden_states[-1]
        return output, self.value_model(hidden.to(self.value_model.head.weight.dtype))


def model_inputs(query_responses: torch.Tensor, pad_token_id: int) -> dict:
    """Ids, mask and position ids counting real tokens only (the queries are left-padded), without the
    leading columns that are padding in every row (outputs are read from the end: they do not move)."""
    query_responses = query_responses[:, real_columns(query_responses != pad_token_id, trailing=False)]
    mask = query_responses != pad_token_id
    return {
        "input_ids": query_responses.masked_fill(~mask, 0),
        "attention_mask": mask.long(),
        "position_ids": (mask.long().cumsum(1) - 1).clamp(min=0),
        "use_cache": False,
    }


def policy_and_values(model: nn.Module, query_responses: torch.Tensor, pad_token_id: int, response_length: int):
    """Logits predicting each response token and the value at each response position.

    Both are (batch, response_length, ...): position t holds what the model saw before response
    token t, so the logits score token t and the value estimates the return from t on.
    """
    inputs = model_inputs(query_responses, pad_token_id)
    if isinstance(model, SharedTrunkPolicyValue) or isinstance(getattr(model, "module", None), SharedTrunkPolicyValue):
        output, values = model(logits_to_keep=response_length + 1, **inputs)
    else:  # TRL's PolicyAndValueWrapper: two trunks
        inputs["output_hidden_states"] = True
        output, values = model(**inputs)
    logits = output.logits[:, -response_length - 1 : -1]
    return logits, values[:, -response_length - 1 : -1, 0]


def reference_logits(model: nn.Module, query_responses: torch.Tensor, pad_token_id: int, response_length: int) -> torch.Tensor:
    output = model(**model_inputs(query_responses, pad_token_id), logits_to_keep=response_length + 1)
    return output.logits[:, -response_length - 1 : -1]


def token_logprobs(logits: torch.Tensor, tokens: torch.Tensor, temperature: float) -> torch.Tensor:
    """Log-probability of each sampled token under logits divided by the sampling temperature (the paper)."""
    from trl.trainer.utils import selective_log_softmax

    return selective_log_softmax(logits.float() / temperature, tokens)


def entropy(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    logits = logits.float() / temperature
    return torch.logsumexp(logits, -1) - (logits.softmax(-1) * logits).sum(-1)
