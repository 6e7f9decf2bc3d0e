"""Memory and speed options shared by every training stage: `sft`, `reward` and `policy`.

Each stage's settings inherit these fields, so one name means one thing everywhere: per-device
batch size, gradient accumulation, gradient checkpointing, bf16/fp16 mixed precision, LoRA and the
optimizer (8-bit Adam through bitsandbytes where it is installed). The names are the transformers
`TrainingArguments` ones, so `trainer_arguments()` passes them straight on.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Optional

from rlhf.config.loader import option
from rlhf.errors import ConfigError

# The optimizers offered: transformers' own names, with the library each needs (None: torch itself).
OPTIMIZERS = {
    "adamw_torch": None,
    "adamw_torch_fused": None,
    "adafactor": None,
    "adamw_8bit": "bitsandbytes",
    "paged_adamw_8bit": "bitsandbytes",
    "adamw_torch_8bit": "torchao",
}
EIGHT_BIT_HINT = "pip install 'rlhf[memory]' (bitsandbytes)"


@dataclass
class TrainingOptions:
    batch_size: int = option(8, help="Examples per device per forward and backward pass.")
    gradient_accumulation_steps: int = option(1, help="Passes accumulated per optimizer step (effective batch = batch_size x this x devices).")
    gradient_checkpointing: bool = option(False, help="Recompute activations in the backward pass: less memory, about a third more compute.")
    bf16: Optional[bool] = option(None, help="bfloat16 mixed precision; unset (auto): on where this machine has bf16 (a GPU, "
                                              "a CPU with avx512_bf16 or AMX) and a step of the stage measured clearly faster in it.")
    fp16: bool = option(False, help="float16 mixed precision with loss scaling (GPUs without bfloat16); needs a GPU.")
    lora_r: int = option(0, help="LoRA rank; 0 trains every weight.")
    lora_alpha: int = option(16, help="LoRA scaling alpha.")
    lora_dropout: float = option(0.0, help="LoRA dropout (the paper trains without dropout).")
    lora_target_modules: str = option("all-linear", help="Modules LoRA adapts: all-linear, or comma-separated module names (q_proj,v_proj).")
    # Fused: one kernel for the whole update, 0.19x the time of adamw_torch's per-tensor loops on this
    # CPU (bench/results/optimizer-2026-12-06.md), the same arithmetic; transformers' own default since torch 2.8.
    optim: str = option(
        "adamw_torch_fused", help="Optimizer: adamw_torch_fused, adamw_torch, adafactor, adamw_8bit or paged_adamw_8bit (bitsandbytes), adamw_torch_8bit (torchao)."
    )

    def problems(self):
        for name in ("batch_size", "gradient_accumulation_steps"):
            if getattr(self, name) <= 0:
                yield name, f"must be positive, got {getattr(self, name)}"
        if self.bf16 and self.fp16:
            yield "fp16", "bf16 and fp16 are both on: pick one mixed precision"
        if self.lora_r < 0:
            yield "lora_r", f"must be 0 (off) or positive, got {self.lora_r}"
        if not 0 <= self.lora_dropout < 1:
            yield "lora_dropout", f"must be in [0, 1), got {self.lora_dropout}"
        if self.optim not in OPTIMIZERS:
            yield "optim", f"unknown optimizer {self.optim!r}: use one of {', '.join(OPTIMIZERS)}"

    # What auto resolved to for this run (rlhf.models.precision.choose_bf16, set by the stage once its
    # model is loaded); not an option, so not in the saved config.
    measured_bf16 = None  # unannotated: a class attribute, not a dataclass field

    def use_bf16(self, on_gpu: bool) -> bool:
        if self.bf16 is not None:
            return self.bf16
        if self.measured_bf16 is not None:
            return self.measured_bf16
        return on_gpu and _gpu_has_bf16()

    def mixed_precision(self, on_gpu: bool) -> str:
        """Accelerate's name for the precision: bf16, fp16 or no."""
        return "bf16" if self.use_bf16(on_gpu) else "fp16" if self.fp16 else "no"

    def check_runtime(self, section: str, on_gpu: bool) -> None:
        """What only the machine can refuse: fp16 without a GPU, an 8-bit optimizer whose library is missing."""
        if self.fp16 and not on_gpu:
            raise ConfigError(f"{section}.fp16", "float16 mixed precision needs a GPU; on a CPU use bf16 or neither")
        library = OPTIMIZERS.get(self.optim)
        if library and importlib.util.find_spec(library) is None:
            hint = EIGHT_BIT_HINT if library == "bitsandbytes" else "pip install torchao"
            raise ConfigError(f"{section}.optim", f"{self.optim} needs {library}, which is not installed: {hint}, "
                                                  "or use optim: adamw_torch")

    def trainer_arguments(self, on_gpu: bool) -> dict:
        """These options as transformers/TRL `TrainingArguments` keywords."""
        return {"per_device_train_batch_size": self.batch_size, "per_device_eval_batch_size": self.batch_size,
                "gradient_accumulation_steps": self.gradient_accumulation_steps,
                **checkpointing_arguments(self.gradient_checkpointing), **self.precision_arguments(on_gpu)}

    def precision_arguments(self, on_gpu: bool) -> dict:
        """Precision and optimizer as TrainingArguments keywords (PPO batches its own way and takes only these)."""
        precision = self.mixed_precision(on_gpu)
        return {"bf16": precision == "bf16", "fp16": precision == "fp16",
                "optim": "adamw_bnb_8bit" if self.optim == "adamw_8bit" else self.optim,
                "use_cpu": not on_gpu}  # transformers refuses bf16 on a CPU unless told it is one

    def lora_config(self, task_type: Optional[str] = "CAUSAL_LM", target_modules=None):
        """peft's LoraConfig for these options; None when LoRA is off."""
        if not self.lora_r:
            return None
        from peft import LoraConfig

        targets = self.lora_target_modules
        if target_modules is None:
            target_modules = targets if targets == "all-linear" else [t.strip() for t in targets.split(",") if t.strip()]
        return LoraConfig(r=self.lora_r, lora_alpha=self.lora_alpha, lora_dropout=self.lora_dropout,
                          target_modules=target_modules, task_type=task_type)


def checkpointing_arguments(enabled: bool) -> dict:
    """Gradient checkpointing as TrainingArguments keywords, under the name this transformers uses.

    Later transformers 5 releases renamed it activation_checkpointing (warning on the old name);
    earlier ones know only gradient_checkpointing. Non-reentrant: the reentrant variant loses
    gradients when the inputs of a checkpointed block need none (LoRA's frozen embeddings).
    """
    import dataclasses

    from transformers import TrainingArguments

    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    key = "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
    return {key: enabled, f"{key}_kwargs": {"use_reentrant": False}}


def _gpu_has_bf16() -> bool:
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
