import json

import pytest
from ppo_fixtures import ppo_config, save_untrained_reward_model, write_config
from transformers import AutoModelForCausalLM

from reward.model import build_reward_model, save_reward_model
from rlhf.errors import RLHFError
from rlhf.models.tokenizer import add_pad_token, load_tokenizer
from rlhf.policy.train import build_trainer, train_policy


def test_train_policy_saves_a_loadable_policy_with_a_model_card_and_samples(tmp_path, tiny_llama, cli):
    path = write_config(tmp_path, tiny_llama)
    config = ppo_config(tmp_path, tiny_llama, name="cli")
    save_untrained_reward_model(config, tiny_llama)
    code, out, err = cli("train-policy", "--config", path)
    assert code == 0, err
    final = config.run_dir / "policy"
    card = (final / "README.md").read_text()
    assert "sentiment" in card and "objective/kl" in card and "policy:" in card
    metrics = json.loads((final / "metrics.json").read_text())
    assert metrics["updates"] == 2 and metrics["episodes"] == 16
    assert "objective/labeler_score" in metrics["last"]  # the task's simulated labeler reads every update
    AutoModelForCausalLM.from_pretrained(final)
    samples = [json.loads(line) for line in (config.run_dir / "policy_samples.jsonl").read_text().splitlines()]
    assert {s["update"] for s in samples} == {1, 2} and all("response" in s and "score" in s for s in samples)
    assert "samples after update 2" in err and "updates: reward" in err
    assert not (config.layout.policy_checkpoints).exists()
    code, _, err = cli("train-policy", "--config", path)
    assert code != 0 and "already trained" in err and "--overwrite" in err


def test_lora_trains_an_adapter_and_saves_a_merged_policy(tmp_path, tiny_gpt2):
    config = ppo_config(tmp_path, tiny_gpt2, ("policy.lora_r", 4), ("policy.lora_target_modules", "c_attn"),
                        ("policy.total_episodes", 16), ("policy.learning_rate", 1e-2))
    save_untrained_reward_model(config, tiny_gpt2)
    base = AutoModelForCausalLM.from_pretrained(tiny_gpt2).state_dict()
    summary = train_policy(config, log=lambda m: None)
    assert summary["first"]["objective/kl"] == pytest.approx(0.0, abs=1e-5)  # the adapter-off reference is the policy at first
    tuned = AutoModelForCausalLM.from_pretrained(config.run_dir / "policy").state_dict()
    assert not any("lora" in k for k in tuned)
    changed = [k for k in base if k in tuned and base[k].shape == tuned[k].shape and not (base[k] == tuned[k]).all()]
    assert changed and all("c_attn" in k for k in changed)


@pytest.mark.parametrize("lora_r", [0, 4])
def test_gradient_checkpointing_on_request(tmp_path, tiny_llama, lora_r):
    config = ppo_config(tmp_path, tiny_llama, ("policy.gradient_checkpointing", True), ("policy.lora_r", lora_r),
                        ("policy.total_episodes", 16), ("policy.micro_batch_size", 2))
    save_untrained_reward_model(config, tiny_llama)
    trainer = build_trainer(config, log=lambda m: None)
    assert trainer.accelerator.unwrap_model(trainer.model).policy.is_activation_checkpointing
    trainer.train()
    assert trainer.state.global_step == 2 and trainer.state.log_history[-1]["loss/value"] > 0


def test_no_reward_model_is_one_clear_error(tmp_path, tiny_gpt2, cli):
    code, _, err = cli("train-policy", "--config", write_config(tmp_path, tiny_gpt2))
    assert code != 0 and "no reward model" in err and "rlhf train-reward" in err and "Traceback" not in err


def test_a_reward_model_with_another_tokenizer_is_refused(tmp_path, tiny_gpt2):
    from rlhf.models.tiny import save_tiny_model

    config = ppo_config(tmp_path, tiny_gpt2)
    other = save_tiny_model(tmp_path / "other", "gpt2", vocab_size=600)
    tokenizer = load_tokenizer(str(other), "right")
    add_pad_token(tokenizer)
    save_reward_model(build_reward_model(str(other), tokenizer), tokenizer, config.run_dir / "reward_model")
    with pytest.raises(RLHFError, match="different tokenizer"):
        train_policy(config, log=lambda m: None)


def test_an_unfinished_run_needs_resume_or_overwrite(tmp_path, tiny_gpt2, cli):
    path = write_config(tmp_path, tiny_gpt2)
    config = ppo_config(tmp_path, tiny_gpt2, name="cli")
    save_untrained_reward_model(config, tiny_gpt2)
    (config.layout.policy_checkpoints / "update-000001").mkdir(parents=True)
    (config.layout.policy_checkpoints / "update-000001" / "ppo_state.json").write_text("{}")
    code, _, err = cli("train-policy", "--config", path)
    assert code != 0 and "--resume" in err and "update-000001" in err


@pytest.mark.parametrize("override, message", [
    (("--policy.mini_batches", "3"), "policy.mini_batches"),
    (("--policy.micro_batch_size", "3"), "policy.micro_batch_size"),
    (("--policy.value_head", "both"), "policy.value_head"),
    (("--policy.reward_model", "/nonexistent"), "policy.reward_model"),
])
def test_bad_policy_settings_name_the_key(tmp_path, tiny_gpt2, cli, override, message):
    code, _, err = cli("train-policy", "--config", write_config(tmp_path, tiny_gpt2), *override)
    assert code == 2 and message in err and "Traceback" not in err


def save_perturbed_copy(source, target):
    """A stand-in for a supervised model: the base model with its weights moved."""
    import torch

    model = AutoModelForCausalLM.from_pretrained(source)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    tokenizer = load_tokenizer(str(source))
    add_pad_token(tokenizer, model)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return model.state_dict()


def test_init_from_sft_starts_the_policy_and_its_reference_from_the_supervised_model(tmp_path, tiny_llama):
    import torch

    config = ppo_config(tmp_path, tiny_llama, ("policy.init_from", "sft"), ("policy.total_episodes", 8))
    save_untrained_reward_model(config, tiny_llama)
    with pytest.raises(RLHFError, match="rlhf sft"):
        build_trainer(config, log=lambda m: None)
    sft = save_perturbed_copy(tiny_llama, config.run_dir / "sft")
    said = []
    trainer = build_trainer(config, log=said.append)
    policy = trainer.accelerator.unwrap_model(trainer.model).policy.state_dict()
    reference = trainer.ref_model.state_dict()
    for key, value in sft.items():
        assert torch.equal(policy[key], value) and torch.equal(reference[key], value)
    assert any("start from" in m and "sft" in m for m in said)
    trainer.train()
    assert trainer.state.log_history[0]["objective/kl"] == pytest.approx(0.0, abs=1e-4)  # KL to the sft model


def test_ppo_accumulates_micro_batches_with_an_8bit_optimizer(tmp_path, tiny_llama):
    pytest.importorskip("bitsandbytes", reason="the 8-bit optimizer comes with the memory extra (bitsandbytes)")
    config = ppo_config(tmp_path, tiny_llama, ("policy.gradient_accumulation_steps", 2), ("policy.optim", "adamw_8bit"),
                        ("policy.total_episodes", 16))
    save_untrained_reward_model(config, tiny_llama)
    trainer = build_trainer(config, log=lambda m: None)
    assert trainer.micro_batch_size == 2  # mini-batch of 4 rollouts in 2 passes
    trainer.train()
    inner = getattr(trainer.optimizer, "optimizer", trainer.optimizer)
    assert type(inner).__module__.startswith("bitsandbytes") and inner.args.optim_bits == 8
    assert trainer.state.global_step == 2
