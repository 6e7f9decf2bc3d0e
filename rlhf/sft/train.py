"""The supervised stage: the base model fine-tuned on the task's data with TRL's SFTTrainer -> <run dir>/sft.

The paper's supervised baseline (and the start of its "supervised + RL" policies): documents to
reference summaries with the loss on the summary tokens, or plain text for continuation tasks.
TRL's SFTTrainer runs the loop: checkpoints under `sft.checkpoints/`, `--resume`, the progress bar,
`report_to`; the memory options (`sft.bf16`, `lora_r`, `gradient_checkpointing`, `optim`, ...) go
to it as `SFTConfig` fields. Held-out loss and perplexity are measured before and after training.
The final model is saved whole (a LoRA adapter merged in) so PPO (`policy.init_from: sft`) and
evaluation load it like any model directory.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from rlhf.config import write_run_config
from rlhf.config.run_config import config_yaml
from rlhf.run.checkpoints import last_complete_checkpoint, resume_point
from rlhf.run.files import save_model_dir
from rlhf.sft.data import sft_dataset


def sft_config(config, out: Path, gpu: bool):
    from trl import SFTConfig

    s, task = config.sft, config.task
    return SFTConfig(
        output_dir=str(out), num_train_epochs=s.epochs, learning_rate=s.learning_rate, lr_scheduler_type="linear",
        warmup_steps=0, **s.trainer_arguments(gpu), logging_steps=s.logging_steps,
        eval_strategy="steps", eval_steps=s.eval_steps, save_steps=s.save_steps, save_total_limit=2,
        report_to=s.report_to, seed=config.seed, data_seed=config.seed, dataloader_pin_memory=gpu,
        max_length=task.query_length + task.response_length, packing=False,
        completion_only_loss=bool(task.reference_field), dataset_num_proc=None, disable_tqdm=False,
        model_init_kwargs=None,
    )


def build_trainer(config, log=print, callbacks=None):
    import datasets
    from trl import SFTTrainer

    from rlhf.models.loading import load_model_for, on_gpu
    from rlhf.models.precision import settle_training_precision

    datasets.disable_progress_bars()  # TRL's per-dataset preparation bars; training has its own
    s = config.sft
    gpu = on_gpu(config)
    s.check_runtime("sft", gpu)
    model, tokenizer = load_model_for(config, log)
    model = model.float()  # the optimizer keeps fp32 master weights; mixed precision is autocast
    settle_training_precision(s, "sft", model, s.batch_size, config.task.query_length + config.task.response_length, log)
    train = sft_dataset(config, tokenizer, "train", s.max_examples, log=log)
    held_out = sft_dataset(config, tokenizer, "eval", log=log)
    kind = "summary tokens only" if config.task.reference_field else "every token"
    log(f"{len(train)} training examples, {len(held_out)} held out; loss on {kind}; "
        f"{'LoRA r=' + str(s.lora_r) if s.lora_r else 'full fine-tuning'}")
    model.train()
    return SFTTrainer(model=model, args=sft_config(config, config.layout.sft_checkpoints, gpu),
                      train_dataset=train, eval_dataset=held_out, processing_class=tokenizer,
                      peft_config=s.lora_config(), callbacks=callbacks)


def train_sft(config, log=print, resume: bool = False, overwrite: bool = False, callbacks=None) -> dict:
    """Train, measure held-out loss before and after, save <run dir>/sft; returns the metrics."""
    final = config.layout.sft
    checkpoints = config.layout.sft_checkpoints
    start = resume_point(config.layout.sft_done(), final, checkpoints, last_complete_checkpoint(checkpoints), resume, overwrite, log)
    trainer = build_trainer(config, log, callbacks)  # the model and data are checked before anything is written
    write_run_config(config)
    before = trainer.evaluate()["eval_loss"]  # the base model's: a resumed run loads its weights in train()
    if start:
        log(f"resuming from {start}")
    result = trainer.train(resume_from_checkpoint=start)
    after = final_eval_loss(trainer)
    metrics = {"eval_loss_before": before, "perplexity_before": _perplexity(before), "eval_loss": after,
               "perplexity": _perplexity(after), "train_loss": result.training_loss, "steps": result.global_step,
               "train_examples": len(trainer.train_dataset), "eval_examples": len(trainer.eval_dataset),
               "loss_on": "completion" if config.task.reference_field else "all tokens",
               "base_model": config.model.name, "task": config.task.name}
    if trainer.accelerator.is_main_process:
        save_sft(trainer, config, final, metrics)
        shutil.rmtree(checkpoints, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    return metrics


def final_eval_loss(trainer) -> float:
    """The held-out loss after training: the Trainer evaluates at its last step by itself (a second pass
    over the held-out set would cost as much again), so its figure is taken when it has one."""
    step = trainer.state.global_step
    last = [entry["eval_loss"] for entry in trainer.state.log_history if "eval_loss" in entry and entry.get("step") == step]
    return last[-1] if last else trainer.evaluate()["eval_loss"]


def _perplexity(loss: float) -> float:
    return math.exp(loss) if loss < 50 else float("inf")


def save_sft(trainer, config, final: Path, metrics: dict) -> None:
    model = trainer.accelerator.unwrap_model(trainer.model)
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()  # a plain checkpoint every later stage can load
    save_model_dir(final, model, trainer.processing_class, {
        "metrics.json": json.dumps(metrics, indent=2), "README.md": model_card(config, metrics),
        "training_log.json": json.dumps(trainer.state.log_history, indent=2)})


def model_card(config, metrics: dict) -> str:
    data = ("documents and their reference summaries (loss on the summary tokens)" if config.task.reference_field
            else "plain text of the prompt source (loss on every token)")
    return f"""---
base_model: {config.model.name}
tags: [sft, trl, {config.task.name}]
---
# {config.name}: {config.model.name}, supervised fine-tuning ({config.task.name})

{config.task.description}

Fine-tuned with TRL's `SFTTrainer` on {metrics['train_examples']} examples: {data}.
The supervised baseline of Ziegler et al. 2019, and a starting point for PPO (`policy.init_from: sft`).

| held-out ({metrics['eval_examples']} examples) | before | after |
|---|---|---|
| loss | {metrics['eval_loss_before']:.4f} | {metrics['eval_loss']:.4f} |
| perplexity | {metrics['perplexity_before']:.2f} | {metrics['perplexity']:.2f} |

## Config

```yaml
{config_yaml(config)}```
"""
