"""The reward-training stage: labels -> normalised reward model in <run dir>/reward_model.

Pairwise data is a best-of-2 choice: softmax cross-entropy over two rewards is exactly the
Bradley-Terry loss -log sigmoid(r_chosen - r_rejected), so one code path serves both.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from transformers import TrainingArguments

from reward.data import Choice, below_gold_accuracy, choices_from_file, choices_from_store, collate, encode_choice, leave_out, split_by_query
from reward.head_fit import fit_head, label_features
from reward.model import backbone, build_reward_model, save_reward_model
from reward.normalize import normalize
from reward.trainer import BestOfNTrainer, ChoiceDataset, choice_metrics, compute_metrics
from rlhf.errors import RLHFError
from rlhf.models.loading import on_gpu
from rlhf.models.precision import forward_precision, settle_training_precision
from rlhf.models.training import linear_module_names
from rlhf.run.checkpoints import last_complete_checkpoint
from rlhf.run.files import replace_dir


def to_pairs(choices: list[Choice]) -> list[Choice]:
    """The n-1 pairs each best-of-n choice implies, each as a best-of-2 choice (chosen first)."""
    return [Choice(c.query_id, c.query, [c.samples[c.best], s], 0, c.task)
            for c in choices for i, s in enumerate(c.samples) if i != c.best]


def load_choices(config, store, log=lambda message: None) -> tuple[list[Choice], dict]:
    """The labels to train on, and what was left out: {"by_name": {labeler: labels}, "by_gold_accuracy":
    {labeler: labels}, "total": labels} (reward.exclude_labelers, reward.min_gold_accuracy)."""
    settings = config.reward
    if settings.labels:
        choices = choices_from_file(settings.labels, config.task.name)
    else:
        choices = choices_from_store(store, config.task.name)
    excluded = {"by_name": {}, "by_gold_accuracy": {}}
    if settings.exclude_labelers:
        choices, excluded["by_name"] = leave_out(choices, settings.exclude_labelers)
        log("reward.exclude_labelers left out " + ", ".join(f"{n} labels of {name}" for name, n in excluded["by_name"].items()))
        if not choices:
            raise RLHFError(f"reward.exclude_labelers ({', '.join(excluded['by_name'])}) left no labels to train on")
    if settings.min_gold_accuracy is not None:
        choices, excluded["by_gold_accuracy"] = _leave_out_below_gold(settings, store, choices, log)
    excluded["total"] = sum(excluded["by_name"].values()) + sum(excluded["by_gold_accuracy"].values())
    return (to_pairs(choices) if settings.loss == "pairwise" else choices), excluded


def _leave_out_below_gold(settings, store, choices: list[Choice], log) -> tuple[list[Choice], dict[str, int]]:
    if store is None:
        raise RLHFError("reward.min_gold_accuracy needs the label store's gold questions, and reward.labels trains from a file")
    below = below_gold_accuracy(store.gold_tallies(), settings.min_gold_accuracy, settings.min_gold_items)
    kept, removed = leave_out(choices, below)
    rule = f"reward.min_gold_accuracy {settings.min_gold_accuracy:.0%} (on {settings.min_gold_items}+ gold answers)"
    log(f"{rule} left out " + (", ".join(f"{removed[name]} labels of {name} (gold accuracy {correct}/{answered})"
                                         for name, (correct, answered) in below.items()) or "nobody"))
    if not kept:
        raise RLHFError(f"{rule} left no labels to train on")
    return kept, removed


def normalization_pairs(store, config, choices: list[Choice]) -> list[tuple[str, str]]:
    """(query, sample) texts of the base policy: round-0 batches of the base model, else the labels' own samples."""
    limit = config.reward.normalize_samples
    pairs = store.policy_samples(config.model.name, 0) if store is not None else []
    if not pairs:
        pairs = [(c.query, s) for c in choices for s in c.samples]
    return pairs[:limit]


def training_arguments(config, out: Path) -> TrainingArguments:
    r, gpu = config.reward, on_gpu(config)
    return TrainingArguments(
        output_dir=str(out), num_train_epochs=r.epochs, learning_rate=r.learning_rate, lr_scheduler_type="linear",
        warmup_steps=0, **r.trainer_arguments(gpu), logging_steps=r.logging_steps,
        save_steps=r.save_steps, save_total_limit=2, eval_strategy="no", report_to=r.report_to,
        label_names=["best"], remove_unused_columns=False, seed=config.seed, data_seed=config.seed,
        dataloader_num_workers=0, dataloader_pin_memory=gpu, disable_tqdm=False,
        train_sampling_strategy="group_by_length" if r.group_by_length else "random",
    )


def add_lora(model, settings) -> None:
    """LoRA adapters on the trunk only: the scalar head stays a plain layer, trained in full."""
    from peft import get_peft_model

    trunk = backbone(model)
    targets = linear_module_names(trunk) if settings.lora_target_modules == "all-linear" else None
    setattr(model, model.base_model_prefix, get_peft_model(trunk, settings.lora_config(None, targets)))
    if settings.gradient_checkpointing:
        model.enable_input_require_grads()  # the frozen embeddings must still pass gradients on


def merge_lora(model) -> None:
    trunk = backbone(model)
    if hasattr(trunk, "merge_and_unload"):
        setattr(model, model.base_model_prefix, trunk.merge_and_unload())


def train_reward(config, store, log=print, overwrite: bool = False, callbacks=None) -> dict:
    """Train, normalise before and after, evaluate on held-out queries, save; returns the metrics."""
    from rlhf.models.loading import resolve
    from rlhf.models.tokenizer import load_tokenizer

    r = config.reward
    final = config.layout.reward_model
    if config.layout.reward_done() and not overwrite:
        raise RLHFError(f"{final} is already trained; pass --overwrite to train it again")
    r.check_runtime("reward", on_gpu(config))
    choices, excluded = load_choices(config, store, log)
    train, held_out = split_by_query(choices, r.eval_fraction, config.seed)
    if not train or not held_out:
        raise RLHFError(f"{len(choices)} labels are too few to hold out {r.eval_fraction:.0%} of queries for evaluation")
    location = resolve(r.backbone or config.model.name, config.model.cache_dir, log=log)
    tokenizer = load_tokenizer(location, padding_side="right")
    model = build_reward_model(location, tokenizer, seed=config.seed, pooling=r.pooling, num_layers=r.backbone_layers)
    norm = normalization_pairs(store, config, choices)
    before = normalize(model, tokenizer, norm)
    if r.lora_r:
        add_lora(model, r)
    log(f"{len(train)} training labels, {len(held_out)} held out; normalised on {len(norm)} base-policy samples")

    encode = lambda cs: [encode_choice(tokenizer, c, config.task.query_length, config.task.response_length) for c in cs]
    fit = _train_all_weights if r.train_backbone else _fit_head_alone
    collator = lambda f: collate(f, tokenizer.pad_token_id)
    rewards, best = fit(config, model, collator, encode(train), encode(held_out), callbacks, log)
    merge_lora(model)
    after = normalize(model, tokenizer, norm)
    metrics = {**choice_metrics(rewards, best), "train_labels": len(train), "excluded_labels": excluded,
               "loss_type": r.loss, "normalization": {"before": before, "after": after, "samples": len(norm)},
               "backbone": r.backbone or config.model.name, "task": config.task.name}
    _save_atomically(model, tokenizer, final, metrics)
    shutil.rmtree(config.layout.reward_checkpoints, ignore_errors=True)
    return metrics


def _train_all_weights(config, model, collator, train: list[dict], held_out: list[dict], callbacks, log):
    """The paper's way: every weight trained by the Trainer; returns held-out (rewards, chosen)."""
    checkpoints = config.layout.reward_checkpoints
    r, task = config.reward, config.task
    settle_training_precision(r, "reward", model, r.batch_size * config.labeling.samples_per_query,
                              task.query_length + task.response_length, log)  # a step reads every candidate of a label
    trainer = BestOfNTrainer(model=model, args=training_arguments(config, checkpoints), train_dataset=ChoiceDataset(train),
                             eval_dataset=ChoiceDataset(held_out), data_collator=collator,
                             compute_metrics=compute_metrics, callbacks=callbacks)
    resume = last_complete_checkpoint(checkpoints)
    if resume:
        log(f"resuming from {resume}")
    trainer.train(resume_from_checkpoint=resume)
    # Held-out figures of the model as trained: re-normalising rescales the rewards, which would
    # change the loss and calibration (not the accuracies) without the model having learned anything.
    prediction = trainer.predict(ChoiceDataset(held_out))
    return prediction.predictions, prediction.label_ids


def _fit_head_alone(config, model, collator, train: list[dict], held_out: list[dict], callbacks, log):
    """The head fitted on the frozen backbone's features (seconds, no checkpoints needed)."""
    r, task = config.reward, config.task
    head = model.score.linear
    # Only forward passes read the backbone here, so auto times a forward pass, not a training step.
    bf16 = forward_precision(r.bf16, "reward", model, r.batch_size * config.labeling.samples_per_query,
                             task.query_length + task.response_length, log)
    features, best = label_features(model, train, collator, r.batch_size, bf16=bf16)
    loss = fit_head(head, features, best, r.head_l2)
    log(f"reward head fitted on {len(train)} labels' frozen features: training loss {loss:.3f}")
    held_features, held_best = label_features(model, held_out, collator, r.batch_size, bf16=bf16)
    with torch.no_grad():
        return model.score(held_features).squeeze(-1), held_best


def _save_atomically(model, tokenizer, final: Path, metrics: dict) -> None:
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    save_reward_model(model, tokenizer, tmp, extra={"normalization": metrics["normalization"]})
    (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2))
    replace_dir(tmp, final)
