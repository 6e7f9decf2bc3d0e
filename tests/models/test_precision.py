"""rlhf.models.precision: auto precision is fp32 without bf16 hardware, measured where there is some."""

import pytest
import torch

from rlhf.models import precision


def test_a_set_precision_is_kept_without_measuring():
    never = lambda: pytest.fail("nothing should be measured")
    assert precision.choose_bf16(True, "sft", torch.device("cpu"), never, log=lambda m: None) is True
    assert precision.choose_bf16(False, "sft", torch.device("cpu"), never, log=lambda m: None) is False


def test_a_cpu_without_bf16_instructions_falls_back_to_fp32_unmeasured(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    lines = []
    never = lambda: pytest.fail("nothing should be measured")
    assert precision.choose_bf16(None, "policy", torch.device("cpu"), never, log=lines.append) is False
    assert lines == ["policy: fp32 (auto: this CPU has no bf16 instructions)"]


@pytest.mark.parametrize("bf16_share, chosen", [(0.5, True), (0.99, False), (1.2, False)])
def test_with_bf16_instructions_the_measured_faster_precision_wins(monkeypatch, bf16_share, chosen):
    monkeypatch.setattr(precision, "bf16_hardware", lambda device: True)
    monkeypatch.setattr(precision, "step_seconds", lambda step, device, bf16: bf16_share if bf16 else 1.0)
    lines = []
    assert precision.choose_bf16(None, "reward", torch.device("cpu"), lambda: None, log=lines.append) is chosen
    assert lines[0].startswith(f"reward: {'bf16' if chosen else 'fp32'} (auto: a step took 1.000 s in fp32")


def test_the_step_runs_the_model_forward_and_backward_under_autocast_and_leaves_no_gradients(tiny_llama):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama)
    dtypes = []
    model.lm_head.register_forward_hook(lambda m, args, out: dtypes.append(out.dtype))
    step = precision.training_step(model, batch=2, length=5)
    assert precision.step_seconds(step, torch.device("cpu"), bf16=True, repeats=1) > 0
    assert precision.step_seconds(step, torch.device("cpu"), bf16=False, repeats=1) > 0
    assert dtypes == [torch.bfloat16] * 2 + [torch.float32] * 2
    assert all(p.grad is None for p in model.parameters())


def test_the_training_stages_resolve_auto_once_their_model_is_loaded(tmp_path, tiny_llama, monkeypatch):
    from ppo_fixtures import ppo_config, save_untrained_reward_model

    from rlhf.models.loading import on_gpu
    from rlhf.policy.train import build_trainer

    monkeypatch.setattr(precision, "bf16_hardware", lambda device: True)
    monkeypatch.setattr(precision, "step_seconds", lambda step, device, bf16: 0.5 if bf16 else 1.0)
    monkeypatch.delenv("ACCELERATE_MIXED_PRECISION", raising=False)
    config = ppo_config(tmp_path, tiny_llama)
    save_untrained_reward_model(config, tiny_llama)
    lines = []
    trainer = build_trainer(config, log=lines.append)
    assert config.policy.mixed_precision(on_gpu(config)) == "bf16" and trainer.args.bf16
    assert any(line.startswith("policy: bf16 (auto:") for line in lines)
