import json
import os

import pytest
import torch
from ppo_fixtures import even_token_share, ppo_config, same_weights, save_untrained_reward_model, scores_per_update
from transformers import AutoModelForCausalLM, TrainerCallback

import rlhf.policy.rollout
from rlhf.policy.train import build_trainer, train_policy
from rlhf.policy.trainer import STATE_FILE, latest_checkpoint


@pytest.fixture
def learnable(monkeypatch):
    monkeypatch.setattr(rlhf.policy.rollout, "score_responses", even_token_share)


@pytest.mark.parametrize("value_head, bf16", [("shared", False), ("separate", False), ("shared", True)])
def test_a_learnable_reward_rises_within_24_updates_and_kl_stays_finite(tmp_path, tiny_llama, learnable, value_head, bf16,
                                                                       monkeypatch):
    # A random tiny model's logits are all near zero: sampling at temperature 0.1 makes its choices
    # (and the gradients through logits / T) large enough to learn in a few hundred episodes.
    config = ppo_config(tmp_path, tiny_llama, ("task.truncate_token", None), ("task.temperature", 0.1),
                        ("task.kl_target", None), ("task.kl_coef", 0.02), ("policy.batch_size", 16),
                        ("policy.total_episodes", 16 * 24), ("policy.ppo_epochs", 4), ("policy.learning_rate", 3e-4),
                        ("policy.save_steps", 100), ("policy.value_head", value_head), ("policy.bf16", bf16))
    save_untrained_reward_model(config, tiny_llama)
    monkeypatch.delenv("ACCELERATE_MIXED_PRECISION", raising=False)  # build_trainer sets it for bf16: not for later tests
    train_policy(config, log=lambda m: None)
    assert (os.environ.get("ACCELERATE_MIXED_PRECISION") == "bf16") == bf16  # what TRL's Accelerator was built with
    history = json.loads((config.run_dir / "policy" / "training_log.json").read_text())
    scores = scores_per_update(history)
    assert len(scores) == 24
    first, last = sum(scores[:4]) / 4, sum(scores[-4:]) / 4
    assert last > first + 0.15, scores
    kls = [h["objective/kl"] for h in history if "objective/kl" in h]
    assert all(k == k and abs(k) < 50 for k in kls)


def test_the_adaptive_beta_follows_the_measured_kl(tmp_path, tiny_llama, learnable):
    target = 1e-5  # far below what a learning rate of 1e-3 moves the policy, so beta must rise
    config = ppo_config(tmp_path, tiny_llama, ("task.kl_target", target), ("task.kl_horizon", 100),
                        ("policy.learning_rate", 1e-3), ("policy.total_episodes", 48))
    save_untrained_reward_model(config, tiny_llama)
    train_policy(config, log=lambda m: None)
    history = [h for h in json.loads((config.run_dir / "policy" / "training_log.json").read_text()) if "objective/kl" in h]
    beta = 0.15
    for h in history:  # the beta each update used, from the previous update's KL, by the paper's formula
        assert h["objective/beta"] == pytest.approx(beta, rel=1e-6)
        beta *= 1 + min(max(h["objective/kl"] / target - 1, -0.2), 0.2) * 8 / 100
    # KL above the tiny target raised beta; an 8-rollout KL estimate may come out negative and lower it again.
    assert max(h["objective/beta"] for h in history) > 0.15


class StopAfter(TrainerCallback):
    def __init__(self, update):
        self.update = update

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.update and not getattr(self, "fired", False):
            self.fired = True
            raise KeyboardInterrupt


def test_a_killed_run_resumes_from_its_checkpoint_and_ends_where_an_uninterrupted_one_does(tmp_path, tiny_llama, learnable):
    straight = ppo_config(tmp_path, tiny_llama, ("policy.learning_rate", 1e-3), name="straight")
    save_untrained_reward_model(straight, tiny_llama)
    train_policy(straight, log=lambda m: None)

    config = ppo_config(tmp_path, tiny_llama, ("policy.learning_rate", 1e-3), name="cut")
    save_untrained_reward_model(config, tiny_llama)
    with pytest.raises(KeyboardInterrupt):
        train_policy(config, log=lambda m: None, callbacks=[StopAfter(3)])
    checkpoint = latest_checkpoint(config.layout.policy_checkpoints)
    assert checkpoint.name == "update-000002" and not (config.run_dir / "policy").exists()
    state = json.loads((checkpoint / STATE_FILE).read_text())
    assert state["update"] == 2 and state["episode"] == 16

    train_policy(config, log=lambda m: None, resume=True)
    resumed = json.loads((config.run_dir / "policy" / "training_log.json").read_text())
    reference = json.loads((straight.run_dir / "policy" / "training_log.json").read_text())
    assert [h["step"] for h in resumed] == [h["step"] for h in reference] == [1, 2, 3, 4]
    assert [h["episode"] for h in resumed] == [8, 16, 24, 32]
    assert scores_per_update(resumed) == pytest.approx(scores_per_update(reference), abs=1e-5)
    a = AutoModelForCausalLM.from_pretrained(config.run_dir / "policy").state_dict()
    b = AutoModelForCausalLM.from_pretrained(straight.run_dir / "policy").state_dict()
    assert same_weights(a, b, atol=1e-5)
    assert not (config.layout.policy_checkpoints).exists()


def test_a_checkpoint_holds_the_value_head_and_beta(tmp_path, tiny_gpt2, learnable):
    config = ppo_config(tmp_path, tiny_gpt2, ("policy.total_episodes", 16))
    save_untrained_reward_model(config, tiny_gpt2)
    trainer = build_trainer(config, log=lambda m: None)
    trainer.train()
    path = latest_checkpoint(config.layout.policy_checkpoints)
    saved = torch.load(path / "pytorch_model.bin", weights_only=True)
    assert "value_model.head.weight" in saved and any(k.startswith("policy.") for k in saved)
    assert json.loads((path / STATE_FILE).read_text())["beta"] == trainer.kl_controller.value


def test_a_minibatch_is_split_into_micro_batches_in_order_of_query_length():
    from rlhf.policy.trainer import by_query_length

    queries = torch.tensor([[0, 0, 5], [6, 7, 8], [0, 0, 0], [0, 9, 9]])  # 0 is padding: lengths 1, 3, 0, 2
    assert by_query_length(torch.tensor([1, 3, 0, 2]), queries, 0).tolist() == [2, 0, 3, 1]
    assert by_query_length(torch.tensor([3, 1]), queries, 0).tolist() == [3, 1]  # only the rows of the minibatch


def test_a_reward_on_the_base_models_trunk_is_read_from_the_reference_pass(tmp_path, tiny_llama, tiny_gpt2):
    from rlhf.policy.reference_features import SharedTrunkReward

    config = ppo_config(tmp_path, tiny_llama)
    save_untrained_reward_model(config, tiny_llama)
    lines = []
    assert isinstance(build_trainer(config, log=lines.append).scorer, SharedTrunkReward)
    assert any("read from the reference pass" in line for line in lines)
    lora = ppo_config(tmp_path, tiny_llama, ("policy.lora_r", 4), name="lora")  # the reference is the adapter switched off
    save_untrained_reward_model(lora, tiny_llama)
    assert build_trainer(lora, log=lambda m: None).scorer is None
    other = ppo_config(tmp_path, tiny_llama, name="other")
    save_untrained_reward_model(other, tiny_gpt2)
    assert build_trainer(other, log=lambda m: None).scorer is None
