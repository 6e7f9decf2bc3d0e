"""Memory benchmark: peak memory and seconds per training step of each memory option, alone and combined.

For each stage it trains a few steps of the stage's real trainer per option, each (stage, option) in
a fresh process (forked from a server that has imported the libraries and nothing else), so that its
peak memory is its own; a run that fails is a row with its error:
  baseline            fp32, full fine-tuning, adamw_torch, the stage's default batch B, no accumulation
  grad-checkpointing  activations recomputed in the backward pass
  lora                LoRA r=16 on every linear layer
  grad-accumulation   B/4 x 4 accumulation steps: the same effective batch (PPO: each mini-batch of
                      B rollouts split into 4 micro-batches, since its batch is rollouts per update)
  8bit-adam           optim adamw_8bit (bitsandbytes)
  bf16                mixed precision (CPU autocast on a CPU), only where the device has bf16 (a GPU that
                      supports it, a CPU with avx512_bf16 or AMX): without, bf16 matmuls run at about a
                      hundredth of fp32's rate (bench/results/machine-2026-12-06.md), hours per PPO update
  fp16                mixed precision with loss scaling, only on a GPU
  combined            all of the above that apply (bf16 as the precision where the device has it)
It prints peak memory (CPU: the process's maximum resident set, ~0.4 GiB of libraries included, so
ratios understate savings; GPU: torch.cuda.max_memory_allocated) and seconds per step (the MEDIAN of
--steps steps after one warm-up step; a policy step is one PPO update, rollout plus PPO epochs),
each with its ratio to the stage's baseline, and the trainable parameters.

The task is configs/sentiment.yaml (64 query + 24 response tokens) for all stages: the paper's short
task, the one bench/ppo.py and bench/reward.py measure; TL;DR's 500 + 75 tokens take many times longer.
  sft     rlhf.sft.build_trainer (TRL SFTTrainer), the shipped demo stories, B = 8 excerpts
  reward  BestOfNTrainer as `rlhf train-reward` builds it, B = 8 best-of-4 labels sampled from the
          base model and chosen by the simulated sentiment labeler (bench/reward.py's make_labels)
  policy  rlhf.policy.train.build_trainer (PaperPPOTrainer, 4 PPO epochs), B = 16 rollouts of
          Austen queries scored by an untrained reward model (as bench/ppo.py)

    python bench/memory.py --quick                   # tiny random llama, about a minute on 2 cores
    python bench/memory.py [--stages sft,reward,policy] [--options lora,grad-checkpointing] [--steps 4] [--json rows.json]
                                                     # SmolLM2-135M; the baseline always runs
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import traceback
from argparse import Namespace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, bench/ comes first on sys.path and bench/reward.py would shadow the `reward` package;
# the root instead, so that the other benches' helpers import as bench.ppo and bench.reward.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
import logging  # noqa: E402

logging.getLogger("bitsandbytes").setLevel(logging.ERROR)  # an optional CPU kernel package's import-time warning

STAGES = ("sft", "reward", "policy")
OPTIONS = ("grad-checkpointing", "lora", "grad-accumulation", "8bit-adam", "bf16", "fp16", "combined")
BATCH = {"sft": 8, "reward": 8, "policy": 16}  # each stage's default batch size
# Imported once by the fork server, so each child starts in a fraction of a second instead of ~6 s.
PRELOAD = ["__main__", "torch", "transformers", "peft", "datasets", "trl", "rlhf.sft.train", "reward.train", "rlhf.policy.train"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="Tiny random llama model: about a minute.")
    p.add_argument("--model", default="smollm2-135m", help="Base model (alias or directory); --quick replaces it.")
    p.add_argument("--stages", default=",".join(STAGES), help="Comma-separated stages: sft, reward, policy.")
    p.add_argument("--options", default=",".join(OPTIONS),
                   help="Comma-separated options to measure besides the baseline (those the device cannot run are left out).")
    p.add_argument("--steps", type=int, default=4, help="Measured steps per run, after one warm-up step.")
    p.add_argument("--json", help="Also save the rows to this JSON file.")
    args = p.parse_args(argv)
    args.stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    if unknown := set(args.stages) - set(STAGES):
        p.error(f"unknown stage(s) {', '.join(sorted(unknown))}: use {', '.join(STAGES)}")
    args.options = [o.strip() for o in args.options.split(",") if o.strip()]
    if unknown := set(args.options) - set(OPTIONS):
        p.error(f"unknown option(s) {', '.join(sorted(unknown))}: use {', '.join(OPTIONS)}")
    return args


def options(stage: str, on_gpu: bool, bf16: bool, chosen=OPTIONS) -> dict[str, dict]:
    """Each option's settings of the stage, the baseline and those `chosen` that the device runs (`bf16`: it has
    bf16); every setting pinned (reward defaults to 4 accumulation steps, bf16 to auto)."""
    b = BATCH[stage]
    baseline = {"batch_size": b, "gradient_accumulation_steps": 1, "gradient_checkpointing": False, "lora_r": 0,
                "optim": "adamw_torch", "bf16": False, "fp16": False}
    accumulate = {"gradient_accumulation_steps": 4} if stage == "policy" else {"batch_size": b // 4, "gradient_accumulation_steps": 4}
    alone = {"grad-checkpointing": {"gradient_checkpointing": True}, "lora": {"lora_r": 16}, "grad-accumulation": accumulate,
             "8bit-adam": {"optim": "adamw_8bit"}, **({"bf16": {"bf16": True}} if bf16 else {})}
    combined = {k: v for o in alone.values() for k, v in o.items()}
    if on_gpu:
        alone["fp16"] = {"fp16": True}
    every = {**{name: {**baseline, **o} for name, o in alone.items()}, "combined": {**baseline, **combined}}
    return {"baseline": baseline, **{name: settings for name, settings in every.items() if name in chosen}}


def stage_config(job):
    from bench.ppo import AUSTEN
    from rlhf.config.run_config import load_config

    stage, work = job["stage"], Path(job["work"])  # one run directory per child: their checkpoint folders apart
    overrides = [("model.name", job["model"]), ("output_dir", str(work)), ("name", f"{stage}-{job['option']}")]
    overrides += [(f"{stage}.{key}", value) for key, value in job["settings"].items()]
    if stage == "policy":  # one update per step: as many episodes as steps. Austen queries as bench/ppo.py's: the
        # demo stories are whole prompts, 79 of 220 over 64 tokens with SmolLM2's tokenizer, all with the tiny one
        overrides += [("prompts.kind", "auto"), ("prompts.path", str(AUSTEN)), ("policy.sample_every", 0),
                      ("policy.reward_model", str(work / "bench" / "reward_model")),
                      ("policy.total_episodes", BATCH["policy"] * (job["steps"] + 1)), ("policy.save_steps", 10**6)]
    else:  # epochs enough for any --steps: the clock stops training; no checkpoints or evaluation to time
        overrides += [(f"{stage}.epochs", 1000.0), (f"{stage}.save_steps", 10**6)]
        overrides += [("sft.eval_steps", 10**6)] if stage == "sft" else []
    return load_config(str(ROOT / "configs" / "sentiment.yaml"), overrides)


def reward_trainer(config, job):
    """The trainer train_reward builds; its normalisation passes before and after are not training steps."""
    import torch

    from reward.data import collate
    from reward.model import build_reward_model
    from reward.train import add_lora, training_arguments
    from reward.trainer import BestOfNTrainer, ChoiceDataset
    from rlhf.models.loading import resolve
    from rlhf.models.tokenizer import load_tokenizer

    r = config.reward
    r.check_runtime("reward", torch.cuda.is_available())
    labels = json.loads((Path(job["work"]) / "labels.json").read_text())
    location = resolve(config.model.name, log=lambda m: None)
    tokenizer = load_tokenizer(location, padding_side="right")
    model = build_reward_model(location, tokenizer, seed=config.seed)
    if r.lora_r:
        add_lora(model, r)
    return BestOfNTrainer(model=model, args=training_arguments(config, config.run_dir / "checkpoints"),
                          train_dataset=ChoiceDataset(labels["train"]), data_collator=lambda f: collate(f, tokenizer.pad_token_id))


def clock(steps: int):
    """A callback timing each optimizer step (one PPO update for the policy) and stopping after `steps`."""
    import torch
    from transformers import TrainerCallback

    class Clock(TrainerCallback):
        def __init__(self):
            self.times, self.last = [], time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            if torch.cuda.is_available():
                torch.cuda.synchronize()  # GPU work is asynchronous: time it done
            now = time.perf_counter()
            self.times.append(now - self.last)
            self.last = now
            control.should_training_stop = len(self.times) >= steps
            return control

    return Clock()


def measure(job) -> dict:
    from bench.ppo import peak_memory_mb

    config = stage_config(job)
    if job["stage"] == "reward":
        trainer = reward_trainer(config, job)
    else:  # the trainers `rlhf sft` and `rlhf train-policy` train with
        module = importlib.import_module("rlhf.sft.train" if job["stage"] == "sft" else "rlhf.policy.train")
        trainer = module.build_trainer(config, log=lambda m: None)
    timer = clock(job["steps"] + 1)
    trainer.add_callback(timer)
    timer.last = time.perf_counter()  # the first step, warm-up, also carries train()'s own setup
    trainer.train()
    model = trainer.accelerator.unwrap_model(trainer.model)
    optimizer = getattr(trainer.optimizer, "optimizer", trainer.optimizer)  # what ran, to check the option took
    return {"peak_gib": peak_memory_mb() / 1024, "s_per_step": statistics.median(timer.times[1:]),
            "steps": len(timer.times) - 1, "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
            "optimizer": f"{type(optimizer).__module__}.{type(optimizer).__name__}",
            "precision": str(trainer.accelerator.mixed_precision),
            "checkpointing": any(getattr(m, "gradient_checkpointing", False) is True for m in model.modules())}


def prepare(job) -> dict:
    """The model, an untrained reward model for PPO (bench/ppo.py's) and best-of-4 labels (bench/reward.py's)."""
    from bench.ppo import prepare as save_reward_model
    from bench.reward import make_labels

    work, model = Path(job["work"]), job["model"]
    if job["quick"]:
        from rlhf.models.tiny import save_tiny_model

        model = str(save_tiny_model(work / "tiny", "llama"))
    if "policy" in job["stages"]:
        save_reward_model(Namespace(model=model), work)
    if "reward" in job["stages"]:  # every step a full batch of fresh labels, after 20% are held out
        labels = math.ceil((job["steps"] + 1) * BATCH["reward"] / 0.8) + BATCH["reward"]
        make_labels(Namespace(model=model, labels=labels), work)
    return {"model": model}


def child(function, job, conn) -> None:
    """Runs `function(job)` in this fresh process and sends its row back as one JSON line, or the error's."""
    log = open(Path(job["work"]) / f"{job.get('stage', 'prepare')}-{job.get('option', '')}.log", "w")
    os.dup2(log.fileno(), 1)  # the trainers' progress bars and warnings go to the log, not the table
    os.dup2(log.fileno(), 2)
    try:
        row = function(job)
    except BaseException as e:  # noqa: BLE001 - any failure is a row of the table
        lines = str(e).strip().splitlines() or [""]
        row = {"error": f"{type(e).__name__}: {lines[0]}", "traceback": traceback.format_exc().strip().splitlines()[-4:]}
    conn.send(json.dumps(row))


def run(ctx, function, job) -> dict:
    """`function(job)` in a fresh child process; a child that dies becomes a row with its exit code."""
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=child, args=(function, job, send))
    process.start()
    send.close()
    try:
        row = json.loads(receive.recv())
    except EOFError:  # it died before sending: killed for memory, a crash in native code
        row = None
    process.join()
    return row or {"error": f"the child process died (exit code {process.exitcode})"}


def note(option: str, on_gpu: bool, bf16: bool) -> str:
    if option == "combined" and not bf16:
        return "fp32: this device has no bf16"
    return "bf16 autocast on the CPU" if option in ("bf16", "combined") and not on_gpu else ""


def report(rows: list[dict], args, on_gpu: bool, bf16: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Memory options, {args.model}: 64+24 tokens; median s/step of {args.steps} steps after 1 warm-up; "
                        f"peak {'CUDA allocated' if on_gpu else 'resident memory'}")
    for column in ("stage", "option", "peak GiB", "x base", "s/step", "x base", "trainable", "note"):
        table.add_column(column, justify="left" if column in ("stage", "option", "note") else "right")
    base = {r["stage"]: r for r in rows if r["option"] == "baseline" and "error" not in r}
    ratio = lambda r, key: f"{r[key] / base[r['stage']][key]:.2f}" if r["stage"] in base else "-"
    for r in rows:
        if "error" in r:
            table.add_row(r["stage"], r["option"], "-", "-", "-", "-", "-", r["error"])
            continue
        note = r.get("note", "")
        table.add_row(r["stage"], r["option"], f"{r['peak_gib']:.2f}", ratio(r, "peak_gib"), f"{r['s_per_step']:.3f}",
                      ratio(r, "s_per_step"), f"{r['trainable']:,}", note)
    Console(width=160).print(table)
    if not bf16:
        print("bf16 left out: this device has no bf16 (a GPU without bf16 support, or a CPU without avx512_bf16 or AMX, "
              "where bf16 matmuls run at about a hundredth of fp32's rate: bench/machine.py)")
    for r in rows:
        if "traceback" in r:
            print(f"\n{r['stage']} / {r['option']} failed:\n  " + "\n  ".join(r["traceback"]))


def main() -> None:
    args = parse_args()
    import torch

    from rlhf.models.precision import bf16_hardware

    on_gpu = torch.cuda.is_available()
    bf16 = bf16_hardware(torch.device("cuda" if on_gpu else "cpu"))
    ctx = multiprocessing.get_context("forkserver")
    if not on_gpu:  # on a GPU, bitsandbytes (imported by peft) probes CUDA, which a forked child cannot inherit
        ctx.set_forkserver_preload(PRELOAD)
    with tempfile.TemporaryDirectory() as tmp:
        job = {"work": tmp, "model": args.model, "quick": args.quick, "stages": args.stages, "steps": args.steps}
        prepared = run(ctx, prepare, job)
        if "error" in prepared:
            sys.exit("preparing the models and labels failed:\n" + "\n".join(prepared.get("traceback", [prepared["error"]])))
        args.model = "tiny random llama" if args.quick else args.model
        rows = []
        for stage in args.stages:
            for option, settings in options(stage, on_gpu, bf16, args.options).items():
                rows.append({"stage": stage, "option": option, "note": note(option, on_gpu, bf16), **run(ctx, measure, {
                    **job, "model": prepared["model"], "stage": stage, "option": option, "settings": settings})})
                print(f"{stage:7} {option:19} {rows[-1].get('error') or str(rows[-1]['peak_gib'])[:4] + ' GiB'}", flush=True)
    report(rows, args, on_gpu, bf16)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
