"""Tokenizers for generation and training: a pad token distinct from EOS, left padding."""

from __future__ import annotations

from typing import Optional

from rlhf.models.damage import check_tokenizer, reading

PAD_TOKEN = "<|pad|>"


def load_tokenizer(location: str, padding_side: str = "left", hint: Optional[str] = None):
    """A tokenizer with a pad token distinct from EOS; left padding unless asked otherwise.

    `padding_side` is not kept by save_pretrained, so it is set on every load. Damaged or missing
    tokenizer files are one ModelNotAvailable naming them, with `hint` saying what to do.
    """
    from transformers import AutoTokenizer

    with reading(location, "tokenizer", hint):
        tokenizer = AutoTokenizer.from_pretrained(location)
    check_tokenizer(location, tokenizer, hint)
    add_pad_token(tokenizer)
    tokenizer.padding_side = padding_side
    return tokenizer


def add_pad_token(tokenizer, model=None) -> bool:
    """Give the tokenizer a pad token distinct from EOS (and the model a row for it). Returns whether one was added."""
    added = False
    if tokenizer.pad_token is None or tokenizer.pad_token_id == tokenizer.eos_token_id:
        tokenizer.add_special_tokens({"pad_token": PAD_TOKEN})
        added = True
    if model is not None:
        if model.get_input_embeddings().num_embeddings < len(tokenizer):
            # mean_resizing gives the new row the embeddings' mean, a harmless value for a token never sampled.
            model.resize_token_embeddings(len(tokenizer), mean_resizing=True)
        model.config.pad_token_id = tokenizer.pad_token_id
        if getattr(model, "generation_config", None) is not None:
            model.generation_config.pad_token_id = tokenizer.pad_token_id
    return added
