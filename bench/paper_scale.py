"""Paper scale on paper: the projected wall time of a run config (by default
configs/mock_sentiment_gpu.yaml: the paper's 5,000 best-of-4 labels and 1,000,000 PPO episodes at
batch 512) on this machine, from each stage's cost measured here on the config's model.

Measured, each the median of a few repetitions after a warm-up:
  sampling    seconds per sample: `rlhf.generation.generate`, the config's sampling settings, one batch
              of --sample-queries queries (4 samples each);
  reward      seconds per optimizer step of the config's reward batch (best-of-4 choices: 4 sequences
              each, forward and backward) plus the AdamW step;
  PPO         seconds per update of `rlhf train-policy` at --ppo-batch rollouts (the first update left
              out), with the config's PPO epochs and micro-batch, scaled to the config's batch: the
              rollout and training phases grow with the batch, while the optimizer steps per update
              (mini-batches x epochs) are counted from the config and timed once.
Projected: labels x 4 samples, one reward epoch over the labels, the config's updates, and the
evaluation's samples (two systems), each at the measured rate. Installs, model downloads and
checkpoint writes are left out. A machine that runs the config's batch at a better rate than
--ppo-batch (a GPU filling its cores) is over-estimated: pass --ppo-batch the config's batch there.

    python bench/paper_scale.py                   # this machine, SmolLM2-135M: about 10 minutes on 2 cores
    python bench/paper_scale.py --quick           # a tiny random model: the plumbing
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from bench.record import load as load_average  # noqa: E402 (the root must be on sys.path first)

DATA = Path(os.environ.get("RLHF_SHARED_DATA") or ROOT.parent / "shared" / "data")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
CANDIDATES = 4  # best-of-4, the paper's


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(ROOT / "configs" / "mock_sentiment_gpu.yaml"), help="The run to project.")
    p.add_argument("--quick", action="store_true", help="A tiny random model and small batches: the plumbing only.")
    p.add_argument("--model", help="Base model instead of the config's (alias or directory; bench/gpu.sh: GPT-2-shaped).")
    p.add_argument("--ppo-batch", type=int, default=64, help="Rollouts per measured PPO update (default 64).")
    p.add_argument("--ppo-updates", type=int, default=3, help="Measured PPO updates, the first one warm-up (default 3).")
    p.add_argument("--sample-queries", type=int, default=16, help="Queries in the measured sampling batch (default 16).")
    p.add_argument("--workdir", help="Where the measuring run lives (default: a temporary folder).")
    p.add_argument("--json", help="Also write the measured costs and the projection here.")
    return p.parse_args(argv)


def run_config(args, work: Path):
    from rlhf.config.run_config import load_config

    overrides = [("output_dir", str(work)), ("name", "scale"), ("prompts.path", str(DATA / "stories" / "austen"))]
    if args.quick:
        from rlhf.models.tiny import save_tiny_model

        overrides.append(("model.name", str(save_tiny_model(work / "tiny", "llama"))))
    elif args.model:
        overrides.append(("model.name", args.model))
    return load_config(args.config, overrides)


def sampling_seconds(config, queries: int) -> float:
    """Seconds per sample, at the config's sampling settings with 4 samples per query."""
    from rlhf.generation import generate, sampling_settings
    from rlhf.models.loading import load_model_for
    from rlhf.models.precision import step_seconds
    from rlhf.tasks.queries import queries_for

    model, tokenizer = load_model_for(config, log=lambda m: None)
    batch = queries_for(config, tokenizer, "train", log=lambda m: None)[:queries]
    settings = sampling_settings(config)
    settings.num_samples, settings.batch_size = CANDIDATES, queries
    sample = lambda: generate(model, tokenizer, batch, settings, progress=False)
    return step_seconds(sample, model.device, bf16=settings.bf16) / (len(batch) * CANDIDATES)


def reward_step_seconds(config) -> float:
    """Seconds per optimizer step of the config's reward batch, every weight trained. The (untrained)
    reward model is saved where the PPO measurement reads it."""
    import torch

    from reward.model import build_reward_model, save_reward_model
    from rlhf.models.loading import resolve
    from rlhf.models.precision import step_seconds, training_step
    from rlhf.models.tokenizer import load_tokenizer

    r, task = config.reward, config.task
    location = resolve(r.backbone or config.model.name, config.model.cache_dir, log=lambda m: None)
    tokenizer = load_tokenizer(location, padding_side="right")
    model = build_reward_model(location, tokenizer, pooling=r.pooling, num_layers=r.backbone_layers)
    save_reward_model(model, tokenizer, config.layout.reward_model)
    step = training_step(model, r.batch_size * CANDIDATES, task.query_length + task.response_length)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    device = next(model.parameters()).device
    return step_seconds(step, device, bf16=r.use_bf16(device.type == "cuda")) + step_seconds(optimizer.step, device, bf16=False)


def ppo_update_seconds(args, config) -> dict:
    """Per update at --ppo-batch: whole, and the optimizer's share, from `rlhf train-policy`'s own log."""
    import torch

    from rlhf.policy.train import build_trainer

    p = config.policy
    batch = args.ppo_batch
    mini_batches = max(1, batch // p.micro_batch)
    config.policy.batch_size, config.policy.mini_batches = batch, mini_batches
    config.policy.total_episodes, config.policy.save_steps, config.policy.sample_every = batch * args.ppo_updates, 10**6, 0
    config.policy.micro_batch_size, config.policy.gradient_accumulation_steps = batch // mini_batches, 1
    config.policy.logging_steps = 1
    trainer = build_trainer(config, log=lambda m: None)
    step = trainer.optimizer.step
    timed = []

    def timed_step(*a, **k):
        start = time.perf_counter()
        out = step(*a, **k)
        timed.append(time.perf_counter() - start)
        return out

    trainer.optimizer.step = timed_step
    trainer.train()
    updates = [h["time/update_s"] for h in trainer.state.log_history if "time/update_s" in h][1:]
    optimizer_steps = mini_batches * p.ppo_epochs
    return {"update_s": statistics.median(updates), "optimizer_step_s": statistics.median(timed),
            "optimizer_steps": optimizer_steps, "batch": batch, "device": str(next(trainer.model.parameters()).device),
            "threads": torch.get_num_threads()}


def project(config, costs: dict) -> dict:
    """Seconds per stage of the whole config, from the measured costs."""
    p, ppo = config.policy, costs["ppo"]
    labels = config.labeling.num_queries
    reward_steps = math.ceil(labels * config.reward.epochs / config.reward.batch_size)
    updates = -(-p.total_episodes // p.batch_size)
    scale = p.batch_size / ppo["batch"]
    steps_per_update = p.mini_batches * p.ppo_epochs
    per_update = ((ppo["update_s"] - ppo["optimizer_steps"] * ppo["optimizer_step_s"]) * scale
                  + steps_per_update * ppo["optimizer_step_s"])
    evaluation = config.evaluation.num_queries * config.evaluation.samples_per_query * 2
    return {"sample": labels * CANDIDATES * costs["sample_s"], "reward": reward_steps * costs["reward_step_s"],
            "policy": updates * per_update, "evaluate": evaluation * costs["sample_s"],
            "updates": updates, "per_update_s": per_update, "labels": labels, "reward_steps": reward_steps,
            "eval_samples": evaluation}


def report(config, costs: dict, projection: dict, before: str) -> None:
    from bench.machine import vector_extensions

    p = config.policy
    stages = ("sample", "reward", "policy", "evaluate")
    total = sum(projection[s] for s in stages)
    print(f"{Path(config.model.name).name}: {projection['labels']} labels, {p.total_episodes} PPO episodes in "
          f"{projection['updates']} updates of {p.batch_size} ({p.mini_batches} mini-batches x {p.ppo_epochs} epochs)")
    print(f"machine: {costs['ppo']['device']}, {os.cpu_count()} CPUs ({vector_extensions()}), "
          f"{costs['ppo']['threads']} torch threads; load average before {before}, "
          f"after {load_average()}")
    print(f"measured: {costs['sample_s']:.3f} s per sample; {costs['reward_step_s']:.2f} s per reward step of "
          f"{config.reward.batch_size} labels; {costs['ppo']['update_s']:.1f} s per PPO update of {costs['ppo']['batch']} "
          f"({costs['ppo']['optimizer_steps']} optimizer steps of {costs['ppo']['optimizer_step_s']:.3f} s)")
    rows = {"sample": f"{projection['labels'] * CANDIDATES} samples", "reward": f"{projection['reward_steps']} steps",
            "policy": f"{projection['updates']} updates of {projection['per_update_s']:.1f} s",
            "evaluate": f"{projection['eval_samples']} samples"}
    print(f"{'stage':<10}{'work':<28}{'projected':>14}")
    for stage in stages:
        print(f"{stage:<10}{rows[stage]:<28}{_duration(projection[stage]):>14}")
    print(f"{'total':<38}{_duration(total):>14}")


def _duration(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min"


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.quick:
        args.ppo_batch, args.ppo_updates, args.sample_queries = 8, 2, 2
    before = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir or tmp)
        config = run_config(args, work)
        costs = {"sample_s": sampling_seconds(config, args.sample_queries), "reward_step_s": reward_step_seconds(config),
                 "ppo": ppo_update_seconds(args, run_config(args, work))}
    projection = project(config, costs)
    report(config, costs, projection, before)
    if args.json:
        Path(args.json).write_text(json.dumps({"costs": costs, "projection": projection}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
