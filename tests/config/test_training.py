"""The memory options every training stage shares, and what each becomes for the Trainer and PPO."""

import pytest

from rlhf.config.run_config import load_config
from rlhf.config.training import TrainingOptions
from rlhf.errors import ConfigError
from rlhf.models.training import linear_module_names


def test_the_options_become_trainer_arguments():
    options = TrainingOptions(batch_size=2, gradient_accumulation_steps=4, gradient_checkpointing=True, optim="adamw_8bit")
    args = options.trainer_arguments(on_gpu=False)
    assert args["per_device_train_batch_size"] == 2 and args["gradient_accumulation_steps"] == 4
    assert (args.get("activation_checkpointing") or args.get("gradient_checkpointing")) and args["optim"] == "adamw_bnb_8bit"
    assert not args["bf16"] and not args["fp16"] and args["use_cpu"]
    from transformers import TrainingArguments

    TrainingArguments(output_dir="/tmp/unused", **args)  # every key is a real TrainingArguments field


@pytest.mark.parametrize("bf16, fp16, on_gpu, expected", [
    (None, False, False, "no"), (True, False, False, "bf16"), (False, True, True, "fp16"), (False, False, True, "no"),
])
def test_mixed_precision(bf16, fp16, on_gpu, expected):
    assert TrainingOptions(bf16=bf16, fp16=fp16).mixed_precision(on_gpu) == expected


@pytest.mark.parametrize("section", ["sft", "reward", "policy"])
@pytest.mark.parametrize("key, value, message", [
    ("batch_size", 0, "must be positive"),
    ("gradient_accumulation_steps", -1, "must be positive"),
    ("lora_r", -2, "must be 0 (off) or positive"),
    ("lora_dropout", 1.5, "must be in [0, 1)"),
    ("optim", "sgd_9bit", "unknown optimizer"),
    ("fp16", True, "pick one mixed precision"),
])
def test_every_stage_checks_the_same_options(section, key, value, message):
    extra = [(f"{section}.bf16", True)] if key == "fp16" else []
    with pytest.raises(ConfigError, match=rf"{section}\.{key}") as caught:
        load_config(None, [(f"{section}.{key}", value), *extra])
    assert message in str(caught.value)


def test_a_missing_optimizer_library_is_named_with_how_to_install_it(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "bitsandbytes" else real(name, *a))
    with pytest.raises(ConfigError, match=r"reward\.optim.*bitsandbytes.*rlhf\[memory\]"):
        TrainingOptions(optim="adamw_8bit").check_runtime("reward", on_gpu=False)


def test_fp16_needs_a_gpu():
    with pytest.raises(ConfigError, match=r"policy\.fp16.*needs a GPU"):
        TrainingOptions(fp16=True).check_runtime("policy", on_gpu=False)
    TrainingOptions(fp16=True).check_runtime("policy", on_gpu=True)


def test_ppo_accumulates_over_micro_batches_of_the_mini_batch():
    config = load_config(None, [("policy.batch_size", 16), ("policy.mini_batches", 2), ("policy.gradient_accumulation_steps", 4)])
    assert config.policy.micro_batch == 2
    assert load_config(None, [("policy.batch_size", 16), ("policy.micro_batch_size", 4)]).policy.micro_batch == 4
    with pytest.raises(ConfigError, match="not both"):
        load_config(None, [("policy.micro_batch_size", 4), ("policy.gradient_accumulation_steps", 2)])
    with pytest.raises(ConfigError, match=r"policy\.gradient_accumulation_steps.*must divide"):
        load_config(None, [("policy.batch_size", 16), ("policy.gradient_accumulation_steps", 3)])


def test_lora_targets_every_linear_layer_of_a_trunk_or_the_named_ones(tiny_llama):
    from transformers import AutoModel

    names = linear_module_names(AutoModel.from_pretrained(tiny_llama))
    assert {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"} == set(names)
    assert TrainingOptions().lora_config() is None
    assert TrainingOptions(lora_r=8, lora_target_modules="q_proj, v_proj").lora_config().target_modules == {"q_proj", "v_proj"}
