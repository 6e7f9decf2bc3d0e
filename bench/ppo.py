"""PPO benchmark: `rlhf train-policy` as configured for the task against TRL's PPOTrainer with its defaults.

Both get the same base model, the same (untrained) reward model, the same queries (Austen excerpts
from ../shared/data, 64 tokens), 24 response tokens, batch, PPO epochs and mini-batches:
  (a) ours: PaperPPOTrainer, value head on the policy's trunk (the paper's layout), logits only
      over the response, the paper's truncation rule;
  (b) TRL 1.12 PPOTrainer: its separate value model (a second full copy), its own loop.
Gradient checkpointing is off for both, and both run in the same precision (`--precision`, fp32 by
default, on any device): every model of either side (policy, value, reference, reward) is loaded
with fp32 weights, and with bf16 each side's whole `train()` runs under `torch.autocast(bf16)` with
accelerate's mixed precision set to bf16 (TRL 1.12 builds its Accelerator without a precision and
reads ACCELERATE_MIXED_PRECISION; its own `bf16` flag does nothing). The table prints each side's
precision and weight dtypes, read from the models after training.
Each method runs in its own process, so its peak memory (max RSS, or CUDA peak) is its own.
The first update is warm-up and left out of the rates. Also prints the FLOP/s of the training
phase (6 FLOPs per weight per token it passes, LM head only where logits are taken) as a share of this
machine's measured matmul peak in the same precision (both peaks, fp32 and bf16, are printed), and
the rollout's sampled tokens/s against a memory-bandwidth bound: sampling one token for the whole
batch reads every policy weight once, so batch x bandwidth / weight bytes tokens/s is the most a
rollout could reach, at the machine's measured copy bandwidth.

    python bench/ppo.py            # offline default (SmolLM2-135M), about 10 minutes on 2 cores
    python bench/ppo.py --quick    # tiny random model, a minute
    python bench/ppo.py --precision bf16   # both sides under bf16 autocast
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The root on sys.path instead of bench/ (whose reward.py would shadow the `reward` package): bench.machine imports.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
# ../shared/data, or where RLHF_SHARED_DATA says (bench/gpu.sh: the copy it carries to a GPU machine).
AUSTEN = Path(os.environ.get("RLHF_SHARED_DATA") or ROOT.parent / "shared" / "data") / "stories" / "austen"
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="Tiny random model.")
    p.add_argument("--model", default="smollm2-135m", help="Base model (alias or directory).")
    p.add_argument("--updates", type=int, default=None, help="PPO updates per run, the first one warm-up (default 4; 6 quick).")
    p.add_argument("--batch", type=int, default=16, help="Rollouts per update.")
    p.add_argument("--ppo-epochs", type=int, default=4, help="PPO epochs per update (TRL's default 4).")
    p.add_argument("--mini-batches", type=int, default=1, help="Mini-batches per epoch (TRL's default 1).")
    p.add_argument("--repeats", type=int, default=1, help="Runs per method; the table shows medians.")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="Precision of both sides (fp32 weights either way).")
    p.add_argument("--method", choices=["ours", "trl"], help=argparse.SUPPRESS)
    p.add_argument("--work", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def peak_memory_mb() -> float:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_config(args, work: Path):
    from rlhf.config.run_config import load_config

    return load_config(None, [
        ("model.name", args.model), ("output_dir", str(work)), ("name", "bench"), ("prompts.path", str(AUSTEN)),
        ("policy.batch_size", args.batch), ("policy.mini_batches", args.mini_batches),
        ("policy.ppo_epochs", args.ppo_epochs), ("policy.total_episodes", args.batch * args.updates),
        ("policy.save_steps", 10**6), ("policy.sample_every", 0), ("policy.logging_steps", 1),
        ("model.dtype", "float32"), ("policy.bf16", args.precision == "bf16"),
    ])


def prepare(args, work: Path) -> None:
    """An untrained reward model on the base model, saved where both methods read it."""
    from reward.model import build_reward_model, save_reward_model
    from rlhf.models.loading import resolve
    from rlhf.models.tokenizer import add_pad_token, load_tokenizer

    location = resolve(args.model, log=lambda m: None)
    tokenizer = load_tokenizer(location, "right")
    add_pad_token(tokenizer)
    save_reward_model(build_reward_model(location, tokenizer), tokenizer, work / "bench" / "reward_model")


class UpdateClock:
    """Per-update wall time and training-phase time, read from trainer callbacks and the model's forward."""

    def __init__(self):
        self.update_started = self.train_started = None
        self.updates, self.train = [], []

    def mark_train(self):
        if self.train_started is None:
            self.train_started = time.perf_counter()

    def end_update(self):
        now = time.perf_counter()
        self.updates.append(now - self.update_started)
        self.train.append(now - (self.train_started or now))
        self.update_started, self.train_started = now, None


def run_ours(args, config, clock: UpdateClock):
    from transformers import TrainerCallback

    from rlhf.policy.train import build_trainer

    trainer = build_trainer(config, log=lambda m: None)
    loss = trainer._loss

    def timed_loss(*a, **k):
        clock.mark_train()
        return loss(*a, **k)

    trainer._loss = timed_loss
    trainer.add_callback(_ClockCallback(clock, TrainerCallback))
    clock.update_started = time.perf_counter()
    trainer.train()
    return trainer, trainer.accelerator.unwrap_model(trainer.model)


def run_trl(args, config, clock: UpdateClock):
    import datasets
    from trl.experimental.ppo import PPOConfig, PPOTrainer
    from trl.experimental.ppo import ppo_trainer as trl_ppo

    from reward.model import load_reward_model
    from rlhf.models.loading import load_model_for, resolve
    from rlhf.policy.train import separate_value_model
    from rlhf.tasks.queries import queries_for

    policy, tokenizer = load_model_for(config, log=lambda m: None)
    reward_model, _ = load_reward_model(config.layout.reward_model)
    queries = queries_for(config, tokenizer, "train")
    dataset = datasets.Dataset.from_dict({"input_ids": [q.input_ids for q in queries]})
    value_model = separate_value_model(resolve(config.model.name, log=lambda m: None), tokenizer)
    targs = PPOConfig(output_dir=str(config.run_dir / "trl"), per_device_train_batch_size=args.batch,
                      gradient_accumulation_steps=1, num_mini_batches=args.mini_batches, num_ppo_epochs=args.ppo_epochs,
                      total_episodes=args.batch * args.updates, response_length=config.task.response_length,
                      temperature=config.task.temperature, bf16=False, gradient_checkpointing=False,  # precision: see the docstring
                      report_to="none", save_strategy="no", num_sample_generations=0, logging_steps=1, seed=0)
    wrapper_forward = trl_ppo.PolicyAndValueWrapper.forward

    def timed_forward(self, **kwargs):  # called only in TRL's training phase (its rollout uses the parts)
        clock.mark_train()
        return wrapper_forward(self, **kwargs)

    trl_ppo.PolicyAndValueWrapper.forward = timed_forward
    from transformers import TrainerCallback

    trainer = PPOTrainer(args=targs, processing_class=tokenizer, model=policy, ref_model=None, reward_model=reward_model,
                         train_dataset=dataset, value_model=value_model, eval_dataset=dataset.select(range(8)),
                         callbacks=[_ClockCallback(clock, TrainerCallback)])
    clock.update_started = time.perf_counter()
    trainer.train()
    return trainer, trainer.accelerator.unwrap_model(trainer.model)


def _ClockCallback(clock, base):
    class ClockCallback(base):
        def on_step_end(self, args, state, control, **kwargs):
            clock.end_update()

    return ClockCallback()


def training_flops(model, method: str, batch: int, query: int, response: int, epochs: int) -> float:
    """Matmul FLOPs of the training phase: 3 x forward (forward + backward), 2 per weight per token.

    The trunk (all weights but the embedding) sees every token; the LM head (vocab x d) only the
    positions that get logits: the response plus one for ours (`logits_to_keep`), all for TRL's,
    whose value model is a second trunk over every token.
    """
    policy = model.policy
    head = policy.get_output_embeddings().weight.numel()
    embedding = policy.get_input_embeddings().weight.numel()
    total = sum(p.numel() for p in policy.parameters())
    trunk = total - embedding - (0 if policy.config.tie_word_embeddings else head)
    tokens = query + response
    if method == "ours":
        per_sequence = trunk * tokens + head * (response + 1)
    else:
        value = model.value_model
        value_trunk = sum(p.numel() for p in value.parameters()) - value.get_input_embeddings().weight.numel()
        per_sequence = (trunk + head) * tokens + value_trunk * tokens
    return 3 * 2 * per_sequence * batch * epochs


def child(args) -> dict:
    import torch

    work = Path(args.work)
    config = bench_config(args, work)
    clock = UpdateClock()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.autocast(device, dtype=torch.bfloat16, enabled=args.precision == "bf16"):
        trainer, model = (run_ours if args.method == "ours" else run_trl)(args, config, clock)
    steady = clock.updates[1:] or clock.updates
    train = clock.train[1:] or clock.train
    tokens = config.task.query_length + config.task.response_length
    seconds = statistics.median(steady)
    train_flops = training_flops(model, args.method, args.batch, config.task.query_length, config.task.response_length,
                                 args.ppo_epochs)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    rollout = statistics.median(u - t for u, t in zip(steady, train))
    return {"method": args.method, "episodes_per_s": args.batch / seconds, "tokens_per_s": args.batch * tokens / seconds,
            "update_s": seconds, "train_s": statistics.median(train), "train_flops_per_s": train_flops / statistics.median(train),
            "rollout_s": rollout, "rollout_share": rollout / seconds,
            "rollout_tokens_per_s": args.batch * config.task.response_length / rollout,
            "policy_weight_bytes": sum(p.numel() * p.element_size() for p in model.policy.parameters()),
            "trainable_params": trainable, "peak_mb": peak_memory_mb(), "updates": len(clock.updates),
            "weights": weight_dtypes(trainer, model), "mixed_precision": trainer.accelerator.mixed_precision,
            "optimizer": getattr(trainer.args.optim, "value", trainer.args.optim)}


def weight_dtypes(trainer, model) -> str:
    """The dtype of each model's weights, as trained: e.g. policy float32, reward float32."""
    parts = {"policy": model.policy, "value": getattr(model, "value_model", None), "reward": trainer.reward_model,
             "reference": getattr(trainer, "ref_model", None)}
    return ", ".join(f"{name} {str(next(m.parameters()).dtype).removeprefix('torch.')}"
                     for name, m in parts.items() if m is not None and any(True for _ in m.parameters()))


def run_method(method: str, args, work: Path) -> dict:
    cmd = [sys.executable, __file__, "--method", method, "--work", str(work), "--model", args.model,
           "--updates", str(args.updates), "--batch", str(args.batch), "--ppo-epochs", str(args.ppo_epochs),
           "--mini-batches", str(args.mini_batches), "--precision", args.precision]
    # The same accelerate precision for both children: TRL's Accelerator reads only this variable.
    env = {**os.environ, "ACCELERATE_MIXED_PRECISION": "bf16" if args.precision == "bf16" else "no"}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"{method} run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(results: dict[str, list[dict]], limits: dict, args) -> None:
    from rich.console import Console
    from rich.table import Table

    from bench.machine import describe

    med = {m: {k: statistics.median(r[k] for r in rs) for k in rs[0] if isinstance(rs[0][k], (int, float))}
           for m, rs in results.items()}
    table = Table(title=f"PPO, {args.model}, {args.precision} for both: batch {args.batch}, 64+24 tokens, {args.ppo_epochs} PPO epochs, "
                        f"{args.mini_batches} mini-batch(es); median of {args.repeats} run(s), first update left out")
    for column in ("figure", "(a) rlhf train-policy", "(b) TRL PPOTrainer", "(a)/(b)", "target"):
        table.add_column(column)
    rows = [("episodes / s", "episodes_per_s", "(a) >= 2 x (b)"),
            ("tokens / s", "tokens_per_s", ""),
            ("seconds per update", "update_s", ""),
            ("seconds in the training phase", "train_s", ""),
            ("seconds in the rollout (share of the update)", "rollout_s", ""),
            ("rollout sampled tokens / s (% of bandwidth bound)", "rollout_tokens_per_s", ""),
            ("training FLOP/s (% of matmul peak)", "train_flops_per_s", ""),
            ("trainable parameters (M)", "trainable_params", ""),
            ("peak memory MB", "peak_mb", "(a) <= (b)")]
    for name, key, target in rows:
        a, b = med["ours"][key], med["trl"][key]
        cells = [_cell(key, med[m], limits["peak_flops"][args.precision], limits["bandwidth"], args.batch)
                 for m in ("ours", "trl")]
        table.add_row(name, *cells, f"{a / b:.2f}" if b else "-", target)
    Console(width=140).print(table)
    for method, label in (("ours", "(a)"), ("trl", "(b)")):
        first = results[method][0]
        print(f"{label} precision {args.precision} (accelerate: {first['mixed_precision']}); weights: {first['weights']}; "
              f"optimizer {first['optimizer']}")
    print("\n".join(describe(limits)))
    print(f"the FLOP/s row is against the {args.precision} peak; the rollout's bound is batch x bandwidth / the policy's weight bytes")


def _cell(key: str, figures: dict, peak: float, bandwidth: float, batch: int) -> str:
    value = figures[key]
    if key == "train_flops_per_s":
        return f"{value / 1e9:.1f} G ({value / peak:.0%})"
    if key == "rollout_s":
        return f"{value:.2f} ({figures['rollout_share']:.0%})"
    if key == "rollout_tokens_per_s":
        bound = batch * bandwidth / figures["policy_weight_bytes"]
        return f"{value:.1f} ({value / bound:.0%})"
    if key == "trainable_params":
        return f"{value / 1e6:.1f}"
    return {"episodes_per_s": "{:.3f}", "tokens_per_s": "{:.1f}", "peak_mb": "{:.0f}"}.get(key, "{:.2f}").format(value)


def main() -> None:
    args = parse_args()
    args.updates = args.updates or (6 if args.quick else 4)
    if args.method:
        print(json.dumps(child(args)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.quick:
            from rlhf.models.tiny import save_tiny_model

            args.model = str(save_tiny_model(work / "tiny", "llama"))
        prepare(args, work)
        from bench.machine import measure

        limits = measure(256, 16) if args.quick else measure()
        results = {"ours": [], "trl": []}
        for _ in range(args.repeats):  # interleaved, so drifting machine load hits both
            for method in results:
                results[method].append(run_method(method, args, work))
        report(results, limits, args)


if __name__ == "__main__":
    main()
