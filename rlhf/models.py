"""Finding and loading causal language models and their tokenizers.

A model is named by an alias from `rlhf.offline_models` (pulled once into the cache), a local
directory holding a `save_pretrained()` checkpoint, or a hub name (only where the hub is reachable
or the name is in the local hub cache). Loading goes through the Auto classes, so any causal LM
works. Tokenizers always get a pad token distinct from EOS, and left padding for generation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Optional

from rlhf import offline_models
from rlhf.config_loader import expand_path, option
from rlhf.errors import ModelNotAvailable
from rlhf.hub import use_offline_mode_if_unreachable

if TYPE_CHECKING:
    import torch

# torch and transformers are imported where they are used: configs, tasks and the labeling app
# import this module, and should not pay seconds of start-up for a library they never call.
PAD_TOKEN = "<|pad|>"
DTYPE_NAMES = ("float32", "bfloat16", "float16")


@dataclass
class ModelConfig:
    name: str = option(offline_models.DEFAULT_ALIAS, help="Model: an alias (smollm2-135m), a local directory, or a hub name (gpt2).")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = option(
        "auto", help="Weights dtype; auto: bfloat16 on a GPU that supports it, float32 on the CPU."
    )
    device: str = option("auto", help="Device: auto (cuda when available, else cpu), cpu, cuda, cuda:1, mps.")
    cache_dir: Optional[str] = option(None, help="Cache of pulled models; default $RLHF_CACHE or ~/.cache/rlhf.")
    revision: Optional[str] = option(None, help="Hub revision (branch, tag or commit) for hub names.")


def resolve(name: str, cache_dir: Optional[str] = None, log=print, revision: Optional[str] = None) -> str:
    """A loadable location for `name`: a local directory, or a hub name known to be loadable."""
    if name in offline_models.ALIASES:
        return str(offline_models.pull(name, cache_dir, log=log))
    path = expand_path(name)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelNotAvailable(f"{path} is a directory but holds no model (no config.json); point --model at a save_pretrained() folder")
        return str(path)
    if path.exists() or name.startswith((".", "/", "~")):
        why = "it is a file" if path.exists() else "it does not exist"
        raise ModelNotAvailable(f"model path {name} is not a model directory ({why}): give a save_pretrained() folder, "
                                "an alias (see `rlhf models list`) or a hub name")
    return _check_hub_name(name, revision)


def _check_hub_name(name: str, revision: Optional[str]) -> str:
    from transformers import AutoConfig

    reachable = use_offline_mode_if_unreachable()
    try:
        AutoConfig.from_pretrained(name, revision=revision)
    except Exception as exc:  # OSError when offline, ValueError for unknown shapes, hub errors otherwise
        if not reachable:
            raise ModelNotAvailable(
                f"cannot load '{name}': the model hub is unreachable and it is not in the local cache. "
                f"Use --model {offline_models.DEFAULT_ALIAS} (the offline default) or a local model directory."
            ) from None
        raise ModelNotAvailable(f"cannot load '{name}' from the hub: {str(exc).splitlines()[0]}") from None
    return name


def pick_device(device: str = "auto") -> "torch.device":
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def pick_dtype(dtype: str, device: "torch.device") -> "torch.dtype":
    import torch

    if dtype != "auto":
        return getattr(torch, dtype)
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def load_tokenizer(location: str, padding_side: str = "left"):
    """A tokenizer with a pad token distinct from EOS; left padding unless asked otherwise.

    `padding_side` is not kept by save_pretrained, so it is set on every load.
    """
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(location)
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


def load_causal_lm(cfg: ModelConfig, location: Optional[str] = None, log=print):
    """Model and tokenizer for generation: resolved, pad token added, dropout off, on its device."""
    from transformers import AutoModelForCausalLM

    from transformers.utils import logging as hf_logging

    location = location or resolve(cfg.name, cfg.cache_dir, log=log, revision=cfg.revision)
    hf_logging.disable_progress_bar()  # a per-load "Loading weights" bar is noise beside our own progress
    device = pick_device(cfg.device)
    tokenizer = load_tokenizer(location)
    model = AutoModelForCausalLM.from_pretrained(location, dtype=pick_dtype(cfg.dtype, device), revision=cfg.revision)
    add_pad_token(tokenizer, model)
    model.eval()
    return model.to(device), tokenizer


def context_length(model_config) -> Optional[int]:
    """The longest sequence the model's position embeddings allow, where the config says."""
    for attr in ("max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length"):
        value = getattr(model_config, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    return None
