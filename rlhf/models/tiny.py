"""Tiny randomly initialised models with a tokenizer built on the fly, for tests and quick benchmarks.

Nothing is downloaded: the tokenizer is a byte-level BPE trained in milliseconds on the shipped
demo text, and the model is built from a small GPT-2 or Llama config. Saved with
`save_pretrained`, a tiny model loads through the same code path as any local model directory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from rlhf.config.prompt_source import DEMO_SETS

SPECIAL = {"eos_token": "<|endoftext|>", "pad_token": "<|pad|>"}


def _corpus() -> list[str]:
    lines = []
    for path in DEMO_SETS.values():
        for row in map(json.loads, path.read_text(encoding="utf-8").splitlines()):
            lines.extend(v for v in row.values() if isinstance(v, str))
    return lines


def tiny_tokenizer(vocab_size: int = 512):
    """A byte-level BPE tokenizer trained on the demo text: every byte is encodable, '.' and '\\n' are single tokens."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(_corpus(), vocab_size=vocab_size, min_frequency=2, special_tokens=list(SPECIAL.values()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, **SPECIAL)
    tokenizer.padding_side = "left"
    return tokenizer


def tiny_model(kind: Literal["gpt2", "llama"] = "gpt2", vocab_size: int = 512, context: int = 1024, seed: int = 0):
    """A random causal LM (2 layers, width 64) and its tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, GPT2Config, LlamaConfig

    tokenizer = tiny_tokenizer(vocab_size)
    ids = {"vocab_size": len(tokenizer), "eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id,
           "bos_token_id": tokenizer.eos_token_id}
    if kind == "gpt2":
        config = GPT2Config(n_layer=2, n_head=2, n_embd=64, n_positions=context, **ids)
    elif kind == "llama":
        config = LlamaConfig(num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, hidden_size=64,
                             intermediate_size=128, max_position_embeddings=context, tie_word_embeddings=True, **ids)
    else:
        raise ValueError(f"unknown tiny model kind {kind!r}: use gpt2 or llama")
    torch.manual_seed(seed)
    return AutoModelForCausalLM.from_config(config), tokenizer


def save_tiny_model(path: str | Path, kind: Literal["gpt2", "llama"] = "gpt2", **kwargs) -> Path:
    """Save a tiny model and tokenizer as a local model directory; returns the directory."""
    model, tokenizer = tiny_model(kind, **kwargs)
    path = Path(path)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
