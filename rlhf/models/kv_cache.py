"""The KV cache under transformers' two names for it: `cache` since 5.x, `past_key_values` before
(still accepted by some forwards, with a warning, until it goes)."""

from __future__ import annotations

import inspect


def returned_cache(output):
    """The cache a forward pass with `use_cache=True` returned, under either name."""
    cache = output.get("cache")
    return output.get("past_key_values") if cache is None else cache


def cache_keyword(model) -> str:
    """The name `model.forward` takes a cache under."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
