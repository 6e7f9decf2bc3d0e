"""The reward model: a causal LM backbone, a scalar head, and a gain and bias that normalise it.

On disk it is an ordinary `AutoModelForSequenceClassification` checkpoint (one label) plus
`reward_head.json` holding the gain and bias. Loaded here, its `.score` becomes
`NormalizedScore`, so every caller - ours and TRL's PPO, which calls
`model.score(backbone(...).hidden_states[-1])` - gets normalised rewards. The reward of a sequence
is read at its last real token (the last position its attention mask keeps), as in the paper, or,
with `pooling: mean`, from the mean of the response's hidden states: a head that sees every
response token generalises from a hundred labels where the last token alone does not (measured
in `bench/reward_pooling.py`). TRL's own reward call reads the last token only; ours read `pooling`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional

import torch
from torch import nn

from rlhf.errors import ModelNotAvailable, RLHFError
from rlhf.models.damage import check_loaded_weights, json_problem, reading
from rlhf.models.padding import real_columns
from rlhf.run.layout import REWARD_HEAD, is_model_dir

HEAD_FILE = REWARD_HEAD
POOLINGS = ("last", "mean")
# What to do about a damaged reward model directory.
RETRAIN = "train it again with `rlhf train-reward --overwrite`, or restore it from a backup"


class NormalizedScore(nn.Module):
    """gain * (w . h) + bias: the paper's reward head with its normalisation."""

    def __init__(self, linear: nn.Linear, gain: float = 1.0, bias: float = 0.0, pooling: str = "last"):
        super().__init__()
        if pooling not in POOLINGS:
            raise RLHFError(f"unknown reward pooling {pooling!r}: use one of {', '.join(POOLINGS)}")
        self.linear = linear
        self.pooling = pooling
        self.register_buffer("gain", torch.tensor(float(gain)))
        self.register_buffer("bias", torch.tensor(float(bias)))

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.linear(hidden) * self.gain + self.bias

    def unnormalize(self, rewards: torch.Tensor) -> torch.Tensor:
        """The head's output before gain and bias."""
        return (rewards - self.bias.to(rewards.device)) / self.gain.to(rewards.device)

    def set_normalization(self, gain: float, bias: float) -> None:
        self.gain.fill_(gain)
        self.bias.fill_(bias)


def init_head(linear: nn.Linear, seed: Optional[int] = None) -> None:
    """N(0, 1/sqrt(d+1)), as in openai/lm-human-preferences."""
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    d = linear.in_features
    with torch.no_grad():
        linear.weight.copy_(torch.randn(linear.weight.shape, generator=generator) / math.sqrt(d + 1))
        if linear.bias is not None:
            linear.bias.zero_()


def disable_dropout(model: nn.Module) -> None:
    """Dropout off everywhere, as the paper trains: Trainer's model.train() then changes nothing."""
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0


def scalar_head_model(location: str, tokenizer, dtype: torch.dtype = torch.float32, num_layers: Optional[int] = None):
    """The backbone at `location` (its first `num_layers` blocks, or all) with a one-output `.score`
    head, sized for the tokenizer's pad token."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    depth = {}
    if num_layers is not None:
        with reading(location, "config"):
            available = getattr(AutoConfig.from_pretrained(location), "num_hidden_layers", None)
        if available is not None and num_layers > available:
            raise RLHFError(f"reward.backbone_layers is {num_layers}, but {location} has only {available} layers: "
                            f"use at most {available}, or unset it for all")
        depth = {"num_hidden_layers": num_layers}
    with reading(location, "weights"):
        model = AutoModelForSequenceClassification.from_pretrained(location, num_labels=1, dtype=dtype, **depth)
    if model.get_input_embeddings().num_embeddings < len(tokenizer):
        model.resize_token_embeddings(len(tokenizer), mean_resizing=True)
    model.config.pad_token_id = tokenizer.pad_token_id
    return model


def build_reward_model(location: str, tokenizer, dtype: torch.dtype = torch.float32, seed: int = 0,
                       pooling: str = "last", num_layers: Optional[int] = None):
    """A fresh reward model on the backbone at `location` (normalisation gain 1, bias 0)."""
    model = scalar_head_model(location, tokenizer, dtype, num_layers)
    init_head(model.score, seed)
    model.score = NormalizedScore(model.score, pooling=pooling)
    disable_dropout(model)
    return model


def backbone(model) -> nn.Module:
    return getattr(model, model.base_model_prefix)


def sequence_rewards(model, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                     response_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """One normalised reward per sequence, pooled as the head says (`response_mask` marks the
    response tokens mean pooling averages over).

    Positions count real tokens only (as generation and TRL's PPO count them), so a left-padded
    query gets the same reward as the unpadded one.
    """
    return model.score(sequence_features(model, input_ids, attention_mask, response_mask)).squeeze(-1)


def sequence_features(model, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                      response_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """(batch, d): the pooled hidden state the head reads."""
    kept = real_columns(attention_mask.bool())  # columns that are padding in every row change nothing
    input_ids, attention_mask = input_ids[:, kept], attention_mask[:, kept]
    response_mask = response_mask[:, kept] if response_mask is not None else None
    position_ids = (attention_mask.long().cumsum(1) - 1).clamp(min=0)
    hidden = backbone(model)(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                             use_cache=False).last_hidden_state
    return pool(model, hidden, attention_mask, response_mask)


def pool(model, hidden: torch.Tensor, attention_mask: torch.Tensor, response_mask: Optional[torch.Tensor]) -> torch.Tensor:
    """(batch, d) from (batch, length, d): the last real token, or the mean over the response."""
    if getattr(model.score, "pooling", "last") == "last":
        last = last_token_index(attention_mask)
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    if response_mask is None:
        raise RLHFError("a mean-pooled reward model needs to know which tokens are the response")
    weights = response_mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1)


def last_token_index(attention_mask: torch.Tensor) -> torch.Tensor:
    """Position of the last kept token in each row, whichever side the padding is on."""
    positions = torch.arange(attention_mask.shape[1], device=attention_mask.device)
    return (positions * attention_mask.long()).argmax(dim=1)


def save_reward_model(model, tokenizer, out_dir: str | Path, extra: Optional[dict] = None) -> None:
    """A standard checkpoint (the head's plain linear as `score`) plus reward_head.json."""
    out_dir = Path(out_dir)
    head = model.score
    model.score = head.linear
    try:
        model.save_pretrained(out_dir)
    finally:
        model.score = head
    tokenizer.save_pretrained(out_dir)
    info = {"gain": float(head.gain), "bias": float(head.bias), "pooling": head.pooling, **(extra or {})}
    (out_dir / HEAD_FILE).write_text(json.dumps(info, indent=2))


def load_reward_model(location: str | Path, dtype: torch.dtype = torch.float32):
    """Model and tokenizer of a saved reward model; refuses a directory without normalisation, and
    names the damaged file of a damaged one."""
    from transformers import AutoModelForSequenceClassification

    from rlhf.models.tokenizer import load_tokenizer

    location = Path(location)
    if not is_model_dir(location):
        raise RLHFError(f"{location} holds no reward model (no config.json): train one with `rlhf train-reward`")
    info = read_head(location)  # before the weights: a broken head file is found in milliseconds
    with reading(location, "weights", RETRAIN):
        model, loading = AutoModelForSequenceClassification.from_pretrained(location, num_labels=1, dtype=dtype,
                                                                            output_loading_info=True)
    check_loaded_weights(location, loading, RETRAIN)
    model.score = NormalizedScore(model.score, info["gain"], info["bias"], info.get("pooling", "last"))
    disable_dropout(model)
    model.eval()
    return model, load_tokenizer(str(location), padding_side="right", hint=RETRAIN)


def _number_problem(info: dict, key: str) -> Optional[str]:
    value = info.get(key)
    finite = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if finite and not (key == "gain" and value == 0):
        return None
    wanted = "a finite number other than 0" if key == "gain" else "a finite number"
    return f"'{key}' must be {wanted}, got {'missing' if key not in info else repr(value)}"


def read_head(location: Path) -> dict:
    """reward_head.json, checked: finite numbers `gain` (not 0: rewards are divided by it) and `bias`,
    and a known `pooling`."""
    path = location / HEAD_FILE
    if not path.is_file():
        raise RLHFError(
            f"{location} has no {HEAD_FILE}: its rewards are not normalised. "
            "Use a reward model trained by `rlhf train-reward` (it saves the gain and bias there)"
        )
    problem = json_problem(path)
    if problem:
        raise ModelNotAvailable(f"{problem}: {RETRAIN}")
    info = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(info, dict):
        raise ModelNotAvailable(f"{path} must hold a JSON object with gain and bias, not {type(info).__name__}: {RETRAIN}")
    for key in ("gain", "bias"):
        problem = _number_problem(info, key)
        if problem:
            raise ModelNotAvailable(f"{path}: {problem}: {RETRAIN}")
    if info.get("pooling", "last") not in POOLINGS:
        raise ModelNotAvailable(f"{path}: 'pooling' must be one of {', '.join(POOLINGS)}, got {info['pooling']!r}: {RETRAIN}")
    return info
