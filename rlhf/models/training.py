"""What the memory options do to a model: gradient checkpointing, the linear layers LoRA adapts."""

from __future__ import annotations


def enable_checkpointing(model) -> None:
    """Non-reentrant gradient checkpointing on a model, under the name this transformers uses."""
    kwargs = {"use_reentrant": False}
    if hasattr(model, "activation_checkpointing_enable"):
        model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)


def linear_module_names(module) -> list[str]:
    """The distinct names of the linear layers inside `module` (LoRA's "all-linear" for a bare trunk)."""
    from torch import nn

    return sorted({name.rsplit(".", 1)[-1] for name, m in module.named_modules() if isinstance(m, nn.Linear)})
