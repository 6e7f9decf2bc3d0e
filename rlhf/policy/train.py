"""The policy stage: the base model, fine-tuned by PPO against the run's reward model -> <run dir>/policy.

Builds what `PaperPPOTrainer` needs from the run config (policy, reference, value layout, LoRA,
the reward model and its tokenizer check, queries from the task's prompt source), trains with
checkpoints under `policy.checkpoints/`, and saves the final policy with a model card. The final
directory appears only when training finished (written under a temporary name, then renamed).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch

from rlhf.config.training import checkpointing_arguments
from rlhf.errors import RLHFError
from rlhf.models.loading import on_gpu
from rlhf.models.precision import settle_training_precision
from rlhf.models.training import enable_checkpointing
from rlhf.policy.kl_control import controller_for
from rlhf.policy.labeler_reward import LabelerReward
from rlhf.policy.rollout import ResponseRule
from rlhf.policy.trainer import PaperPPOTrainer, latest_checkpoint
from rlhf.run.checkpoints import resume_point
from rlhf.run.files import save_model_dir
from rlhf.run.layout import is_model_dir
from rlhf.tasks.truncation import truncation_token_ids


def load_reward_for(config, tokenizer):
    """The normalised reward model, refused when its vocabulary is not the policy's."""
    from reward.model import load_reward_model

    location = config.reward_model_dir
    if not is_model_dir(location):
        raise RLHFError(f"no reward model at {location}: train one with `rlhf train-reward --config ...` "
                        "or point policy.reward_model at one")
    model, reward_tokenizer = load_reward_model(location)
    if reward_tokenizer.get_vocab() != tokenizer.get_vocab() or reward_tokenizer.pad_token_id != tokenizer.pad_token_id:
        raise RLHFError(f"the reward model at {location} uses a different tokenizer from {config.model.name}: "
                        "PPO feeds the policy's token ids to it, so train the reward model on the policy's base model")
    return model


def ppo_config(config, output_dir: Path, gpu: bool):
    from trl.experimental.ppo import PPOConfig

    p, task = config.policy, config.task
    return PPOConfig(
        output_dir=str(output_dir), seed=config.seed, learning_rate=p.learning_rate, lr_scheduler_type="linear",
        per_device_train_batch_size=p.batch_size, gradient_accumulation_steps=1, num_mini_batches=p.mini_batches,
        total_episodes=p.total_episodes, num_ppo_epochs=p.ppo_epochs, response_length=task.response_length,
        temperature=task.temperature, kl_coef=task.kl_coef, cliprange=p.cliprange, cliprange_value=p.cliprange_value,
        vf_coef=p.vf_coef, gamma=p.gamma, lam=p.lam, whiten_rewards=False, stop_token=None, missing_eos_penalty=None,
        **p.precision_arguments(gpu), **checkpointing_arguments(False), report_to=p.report_to,
        logging_steps=p.logging_steps, save_steps=p.save_steps, save_strategy="no", num_sample_generations=0,
        dataloader_pin_memory=gpu, disable_tqdm=False,
    )


def initial_policy_dir(config) -> Path | None:
    """Where `policy.init_from` points (None: the base model); `sft` is the run's supervised model."""
    init = config.policy.init_from
    if init is None:
        return None
    location = config.model_dir(init)
    if not is_model_dir(location):
        hint = "train it with `rlhf sft --config ...`" if init == "sft" else "point policy.init_from at a model directory"
        raise RLHFError(f"policy.init_from: no model at {location}; {hint}")
    return location


def load_initial_policy(config, log=print):
    """The policy to start from (the base model, or init_from) and its tokenizer; also the KL reference."""
    from rlhf.models.loading import load_causal_lm, load_model_for

    location = initial_policy_dir(config)
    if location is None:
        return load_model_for(config, log)
    log(f"policy and KL reference start from {location}")
    return load_causal_lm(config.model, location=str(location), log=log)


def separate_value_model(location: str, tokenizer):
    """TRL's layout: a second full model with a zero-initialised scalar head."""
    from reward.model import scalar_head_model

    model = scalar_head_model(location, tokenizer)
    torch.nn.init.zeros_(model.score.weight)
    return model


def build_trainer(config, log=print, callbacks=None) -> PaperPPOTrainer:
    import datasets

    from rlhf.generation import sampling_settings
    from rlhf.tasks.queries import queries_for

    p, task = config.policy, config.task
    gpu = on_gpu(config)
    p.check_runtime("policy", gpu)
    policy, tokenizer = load_initial_policy(config, log)
    policy = policy.float() if policy.dtype != torch.float32 else policy  # the optimizer keeps fp32 master weights
    settle_training_precision(p, "policy", policy, p.micro_batch, task.query_length + task.response_length, log)
    if p.mixed_precision(gpu) != "no":
        # TRL's PPOTrainer builds its Accelerator without a precision argument: it reads this.
        os.environ.setdefault("ACCELERATE_MIXED_PRECISION", p.mixed_precision(gpu))
    reward_model = LabelerReward(task.labeler, tokenizer) if p.reward == "simulated" else load_reward_for(config, tokenizer)
    queries = queries_for(config, tokenizer, "train", log=log)
    if len(queries) < p.batch_size:
        raise RLHFError(f"the train split has {len(queries)} usable queries, fewer than one batch of {p.batch_size}")
    dataset = datasets.Dataset.from_dict({"input_ids": [q.input_ids for q in queries]})
    if p.gradient_checkpointing:  # on the model itself: TRL's PPOTrainer does not apply the argument
        enable_checkpointing(policy)
        policy.enable_input_require_grads()  # LoRA: the frozen embeddings must still pass gradients on
    value_model = separate_value_model(policy.name_or_path, tokenizer) if p.value_head == "separate" else None
    sampling = sampling_settings(config)
    sampling.max_new_tokens, sampling.num_samples = task.response_length, 1
    rule = ResponseRule(truncation_token_ids(tokenizer, task.truncate_token), task.truncate_after, task.penalty_reward)
    config.run_dir.mkdir(parents=True, exist_ok=True)
    log(f"{len(queries)} training queries; {p.total_episodes} episodes in batches of {p.batch_size}; "
        f"value: {p.value_head}; {'LoRA r=' + str(p.lora_r) if p.lora_r else 'full fine-tuning'}")
    trainer = PaperPPOTrainer(
        args=ppo_config(config, config.layout.policy_checkpoints, gpu), processing_class=tokenizer, model=policy,
        reward_model=reward_model, train_dataset=dataset, value_model=value_model, sampling=sampling, rule=rule,
        kl_controller=controller_for(task), peft_config=p.lora_config(), callbacks=callbacks,
        micro_batch_size=p.micro_batch, rollout_batch_size=p.rollout_batch_size, sample_every=p.sample_every,
        samples_file=config.layout.policy_samples, judge=judge_for(task),
    )
    if trainer.scorer is not None:
        log(f"reward: read from the reference pass (the reward's backbone is the reference's first {trainer.scorer.depth} "
            "blocks, weight for weight): no forward pass of its own")
    return trainer


def judge_for(task):
    """The task's simulated labeler as a per-sample score, where it needs no reference text."""
    from rlhf.labeling.simulated import scorer

    return scorer(task.labeler) if task.labeler in ("sentiment", "descriptiveness") else None


def train_policy(config, log=print, resume: bool = False, overwrite: bool = False, callbacks=None) -> dict:
    """Train, save the final policy with its model card; returns the summary metrics."""
    final = config.layout.policy
    checkpoints = config.layout.policy_checkpoints
    latest = latest_checkpoint(checkpoints) if checkpoints.is_dir() else None
    start = resume_point(config.layout.policy_done(), final, checkpoints, latest, resume, overwrite, log)
    if overwrite and not resume:
        config.layout.policy_samples.unlink(missing_ok=True)
    trainer = build_trainer(config, log, callbacks)
    if start:
        log(f"resuming from {start}")
    trainer.train(resume_from=start)
    summary = summarize(trainer.state.log_history)
    if trainer.accelerator.is_main_process:
        save_policy(trainer, config, final, summary)
        shutil.rmtree(checkpoints, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    return summary


def summarize(history: list[dict]) -> dict:
    updates = [h for h in history if "objective/scores" in h]
    if not updates:
        return {}
    keys = [k for k in ("objective/scores", "objective/raw_scores", "objective/labeler_score", "objective/kl",
                        "objective/beta", "objective/penalized", "response/length", "eps", "tokens_per_s") if k in updates[-1]]
    return {"updates": updates[-1]["step"], "episodes": updates[-1]["episode"],
            "first": {k: updates[0][k] for k in keys}, "last": {k: updates[-1][k] for k in keys}}


def save_policy(trainer, config, final: Path, summary: dict) -> None:
    policy = trainer.accelerator.unwrap_model(trainer.model).policy
    if trainer.is_peft_model:
        policy = policy.merge_and_unload()  # a plain checkpoint every later stage can load
    save_model_dir(final, policy, trainer.processing_class, {
        "metrics.json": json.dumps(summary, indent=2), "README.md": model_card(config, summary),
        "training_log.json": json.dumps(trainer.state.log_history, indent=2)})


def model_card(config, summary: dict) -> str:
    from rlhf.config.run_config import config_yaml

    reward_metrics = config.reward_model_dir / "metrics.json"
    reward = json.loads(reward_metrics.read_text()) if reward_metrics.is_file() else {}
    first, last = summary.get("first", {}), summary.get("last", {})
    fmt = lambda d, k: f"{d[k]:.3f}" if k in d else "-"
    rows = "\n".join(f"| {k} | {fmt(first, k)} | {fmt(last, k)} |" for k in first)
    return f"""---
base_model: {initial_policy_dir(config) or config.model.name}
tags: [rlhf, ppo, trl, {config.task.name}]
---
# {config.name}: {config.model.name} fine-tuned from human preferences ({config.task.name})

{config.task.description}

Trained with PPO (TRL 1.12 `PPOTrainer`, the loop of Ziegler et al. 2019) against {_reward_source(config, reward)}, with a per-token KL penalty
to the model it started from ({'adaptive, target ' + str(config.task.kl_target) + ' nats' if config.task.kl_target else 'fixed beta ' + str(config.task.kl_coef)}).
Responses are cut at the first {config.task.truncate_token!r} at or after token {config.task.truncate_after}.

{summary.get('updates', 0)} updates, {summary.get('episodes', 0)} episodes.

| metric | first update | last update |
|---|---|---|
{rows}

## Config

```yaml
{config_yaml(config)}```
"""


def _reward_source(config, reward: dict) -> str:
    if config.policy.reward == "simulated":
        return f"the simulated {config.task.labeler} labeler's score itself (no reward model)"
    n = round(1 / reward["chance_accuracy"]) if "chance_accuracy" in reward else "n"
    return (f"a reward model trained on {reward.get('train_labels', 'an unknown number of')} best-of-{n} labels "
            f"(held-out accuracy {reward.get('best_of_n_accuracy', float('nan')):.1%})")
