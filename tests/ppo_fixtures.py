"""A tiny-model PPO run: config, a saved (untrained) reward model, and a trivially learnable reward."""

from __future__ import annotations

import json

import torch

from reward.model import build_reward_model, save_reward_model
from rlhf.config.run_config import load_config
from rlhf.models.tokenizer import add_pad_token, load_tokenizer


def ppo_config(tmp_path, model_dir, *extra, name="ppo"):
    return load_config(None, [
        ("model.name", str(model_dir)), ("output_dir", str(tmp_path / "runs")), ("name", name),
        ("prompts.kind", "demo"), ("prompts.path", "stories"), ("task.truncate_field", "text"),
        ("task.query_length", 16), ("task.response_length", 8), ("task.truncate_after", 2),
        ("policy.batch_size", 8), ("policy.mini_batches", 2), ("policy.total_episodes", 32), ("policy.ppo_epochs", 2),
        ("policy.save_steps", 2), ("policy.sample_every", 0), *extra,
    ])


def save_untrained_reward_model(config, model_dir) -> None:
    tokenizer = load_tokenizer(str(model_dir), "right")
    add_pad_token(tokenizer)
    save_reward_model(build_reward_model(str(model_dir), tokenizer), tokenizer, config.run_dir / "reward_model")


def even_token_share(reward_model, queries, cut, found, pad_token_id, penalty_reward, block_output=None):
    """Stands in for score_responses: the share of kept response tokens with an even id."""
    kept = cut != pad_token_id
    share = ((cut % 2 == 0) & kept).float().sum(1) / kept.float().sum(1)
    return share, share


def scores_per_update(history) -> list[float]:
    return [h["objective/scores"] for h in history if "objective/scores" in h]


def weights(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_weights(a: dict, b: dict, atol=1e-6) -> bool:
    return a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=atol) for k in a)


def write_config(tmp_path, model_dir, **policy) -> str:
    settings = {"batch_size": 8, "mini_batches": 2, "total_episodes": 16, "ppo_epochs": 1, "save_steps": 1,
                "sample_every": 1, **policy}
    text = f"""name: cli
output_dir: {tmp_path / 'runs'}
model: {{name: {model_dir}}}
task: {{name: sentiment, query_length: 16, response_length: 8, truncate_after: 2, truncate_field: text}}
prompts: {{kind: demo, path: stories}}
policy: {json.dumps(settings)}
"""
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return str(path)
