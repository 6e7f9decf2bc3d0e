"""policy.reward: simulated — PPO scored by the task's simulated labeler itself, no reward model."""

import pytest
import torch
from ppo_fixtures import ppo_config

from rlhf.errors import ConfigError
from rlhf.labeling.simulated import sentiment_score
from rlhf.models.tokenizer import load_tokenizer
from rlhf.policy.labeler_reward import LabelerReward
from rlhf.policy.rollout import score_responses
from rlhf.policy.train import train_policy

QUIET = lambda message: None


def encode(tokenizer, texts, side):
    tokenizer.padding_side = side
    return tokenizer(texts, add_special_tokens=False, padding=True, return_tensors="pt")["input_ids"]


def test_the_reward_is_the_labelers_score_of_the_decoded_response_and_the_penalty_still_applies(tiny_gpt2):
    tokenizer = load_tokenizer(str(tiny_gpt2))
    prompts, responses = ["She opened the door.", "It rained."], [" What a wonderful, happy day.", " Dreadful"]
    queries, cut = encode(tokenizer, prompts, "left"), encode(tokenizer, responses, "right")
    reward = LabelerReward("sentiment", tokenizer)
    scores, raw = score_responses(reward, queries, cut, found=torch.tensor([True, False]),
                                  pad_token_id=tokenizer.pad_token_id, penalty_reward=-1.0)
    assert raw.tolist() == pytest.approx([sentiment_score(p, r) for p, r in zip(prompts, responses)])
    assert scores[0].item() == pytest.approx(raw[0].item()) and raw[0].item() > 0.5
    assert scores[1].item() == -1.0  # no truncation token: the paper's penalty, as with a reward model


def test_a_labeler_that_needs_a_reference_cannot_be_the_reward(tiny_gpt2):
    with pytest.raises(ConfigError, match="policy.reward"):
        LabelerReward("rouge", load_tokenizer(str(tiny_gpt2)))


def test_ppo_trains_against_the_labeler_without_any_reward_model(tmp_path, tiny_gpt2):
    config = ppo_config(tmp_path, tiny_gpt2, ("policy.reward", "simulated"), ("policy.total_episodes", 16))
    assert not config.layout.reward_model.exists()
    summary = train_policy(config, log=QUIET)
    assert summary["episodes"] == 16 and config.layout.policy_done()
    card = (config.layout.policy / "README.md").read_text()
    assert "simulated sentiment labeler" in card and "reward model trained on" not in card


def test_the_loop_skips_reward_training_when_the_labeler_is_the_reward(tmp_path, tiny_gpt2):
    from rlhf.pipeline import reward_stage

    config = ppo_config(tmp_path, tiny_gpt2, ("policy.reward", "simulated"))
    said = []
    assert reward_stage(config, said.append) is True
    assert "policy.reward is simulated" in said[0] and not config.layout.reward_model.exists()
