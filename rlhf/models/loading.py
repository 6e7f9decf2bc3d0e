"""Finding and loading causal language models and their tokenizers.

A model is named by an alias from `rlhf.models.offline` (pulled once into the cache), a local
directory holding a `save_pretrained()` checkpoint, or a hub name (only where the hub is reachable
or the name is in the local hub cache). Loading goes through the Auto classes, so any causal LM
works. Tokenizers always get a pad token distinct from EOS, and left padding for generation.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Optional

from rlhf.config import Config
from rlhf.config.loader import expand_path
from rlhf.config.sections import ModelConfig
from rlhf.errors import ConfigError, ModelNotAvailable
from rlhf.models import offline as offline_models
from rlhf.models.damage import check_loaded_weights, reading
from rlhf.models.hub import use_offline_mode_if_unreachable
from rlhf.models.tokenizer import add_pad_token, load_tokenizer
from rlhf.run.layout import is_model_dir

if TYPE_CHECKING:
    import torch

# torch and transformers are imported where they are used: configs, tasks and the labeling app
# import this module, and should not pay seconds of start-up for a library they never call.
def resolve(name: str, cache_dir: Optional[str] = None, log=print, revision: Optional[str] = None) -> str:
    """A loadable location for `name`: a local directory, or a hub name known to be loadable."""
    if name in offline_models.ALIASES:
        return str(offline_models.pull(name, cache_dir, log=log))
    path = expand_path(name)
    if path.is_dir():
        if not is_model_dir(path):
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


DEVICE_ENV = "RLHF_DEVICE"  # what `model.device: auto` means on this machine: e.g. cpu on a GPU machine


def pick_device(device: str = "auto") -> "torch.device":
    """The device `model.device` names; auto: $RLHF_DEVICE when set, else cuda when available, else cpu."""
    import torch

    if device == "auto":
        device = os.environ.get(DEVICE_ENV, "").strip() or ("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def on_gpu(config: Config) -> bool:
    """Whether the run's training uses a GPU: the device its model section names (trainers default to one
    whenever CUDA is available, so `use_cpu` is passed from this)."""
    return pick_device(config.model.device).type == "cuda"


def pick_dtype(dtype: str, device: "torch.device") -> "torch.dtype":
    import torch

    if dtype != "auto":
        return getattr(torch, dtype)
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32



def load_causal_lm(cfg: ModelConfig, location: Optional[str] = None, log=print):
    """Model and tokenizer for generation: resolved, pad token added, dropout off, on its device."""
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    location = location or resolve(cfg.name, cfg.cache_dir, log=log, revision=cfg.revision)
    hf_logging.disable_progress_bar()  # a per-load "Loading weights" bar is noise beside our own progress
    device = pick_device(cfg.device)
    tokenizer = load_tokenizer(location)
    with reading(location, "weights"):
        model, info = AutoModelForCausalLM.from_pretrained(location, dtype=pick_dtype(cfg.dtype, device),
                                                           revision=cfg.revision, output_loading_info=True)
    check_loaded_weights(location, info)
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


def check_against_model(config: Config, model_config) -> None:
    """Problems only the model can reveal: queries plus responses longer than its context."""
    limit = context_length(model_config)
    task = config.task
    total = task.query_length + task.response_length
    if limit is not None and total > limit:
        raise ConfigError("task.response_length", f"query_length {task.query_length} + response_length "
                          f"{task.response_length} = {total} tokens exceeds the model's context of {limit} tokens")
    new_tokens = config.generation.max_new_tokens
    if limit is not None and new_tokens is not None and task.query_length + new_tokens > limit:
        raise ConfigError("generation.max_new_tokens", f"query_length {task.query_length} + {new_tokens} new tokens "
                          f"exceeds the model's context of {limit} tokens")


def checked_location(config: Config, log=print) -> str:
    """The config's model resolved to a local location, after checking the config against its context."""
    from transformers import AutoConfig

    model = config.model
    location = resolve(model.name, model.cache_dir, log=log, revision=model.revision)
    with reading(location, "config"):
        model_config = AutoConfig.from_pretrained(location, revision=model.revision)
    check_against_model(config, model_config)
    return location


def load_model_for(config: Config, log=print):
    """The config's model and tokenizer, after checking the config against the model's context."""
    return load_causal_lm(config.model, location=checked_location(config, log), log=log)
