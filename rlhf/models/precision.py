"""Which precision a stage runs in when its `bf16` option is unset (auto): bf16 where this machine
runs the stage's own step faster in it, fp32 where not. Training stages (sft, reward, policy) time a
forward and backward step; sampling (generation, evaluation) and the frozen backbone's reward features
(`reward.train_backbone: false`, whose backbone only runs forward) a forward pass.

bf16 pays only where the hardware has it. A CPU without avx512_bf16 or AMX runs bf16 matmuls
through a slow fallback (on an AVX2-only EPYC at about a hundredth of fp32's rate,
bench/results/machine-2026-12-06.md), so there auto is fp32 and nothing is measured. Where the
instructions (or a GPU's bf16 support) are there, the gain still depends on the stage: on an
avx512_bf16 host bench/memory.py found SFT and PPO faster under bf16 autocast but a reward step slower.
So each stage times a few steps of its own model at its own batch shape in both precisions (fp32
weights, bf16 autocast, as training runs it) and keeps bf16 only for a clear win.
The PPO arithmetic (log-probabilities, ratios, KL, advantages, losses) is fp32 either way.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable, Optional

import torch

CLEAR_WIN = 0.95  # bf16 is kept when its step takes at most this share of fp32's: noise is not a win


def bf16_hardware(device: torch.device) -> bool:
    """Whether the device computes in bf16 natively: a GPU that supports it, or a CPU with avx512_bf16 or AMX."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def training_step(model: torch.nn.Module, batch: int, length: int) -> Callable[[], None]:
    """One forward and backward pass of `model` on random tokens of the stage's shape (gradients dropped)."""
    ids = _random_ids(model, batch, length)

    def step() -> None:
        output = model(input_ids=ids, attention_mask=torch.ones_like(ids))
        output.logits.float().mean().backward()
        model.zero_grad(set_to_none=True)

    return step


def forward_step(model: torch.nn.Module, batch: int, length: int) -> Callable[[], None]:
    """One forward pass without gradients on random tokens of the shape (sampling's prefill, the costlier part)."""
    ids = _random_ids(model, batch, length)

    @torch.no_grad()
    def step() -> None:
        model(input_ids=ids, attention_mask=torch.ones_like(ids))

    return step


def _random_ids(model: torch.nn.Module, batch: int, length: int) -> torch.Tensor:
    vocab = model.get_input_embeddings().num_embeddings
    ids = torch.randint(0, vocab, (batch, length), generator=torch.Generator().manual_seed(0))
    return ids.to(next(model.parameters()).device)


def step_seconds(step: Callable[[], None], device: torch.device, bf16: bool, repeats: int = 2) -> float:
    """Median seconds of `step` in the precision, after one warm-up step."""
    times = []
    for _ in range(repeats + 1):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def choose_bf16(setting: Optional[bool], stage: str, device: torch.device, step: Callable[[], Callable[[], None]],
                log=print) -> bool:
    """The stage's precision: `setting` when set; else (auto) bf16 only where measured clearly faster.

    `step` builds the stage's step; it is called only when there is something to measure.
    """
    if setting is not None:
        return setting
    if not bf16_hardware(device):
        log(f"{stage}: fp32 (auto: this {device.type.upper()} has no bf16 instructions)")
        return False
    run = step()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):  # training's randomness untouched
        fp32, bf16 = step_seconds(run, device, False), step_seconds(run, device, True)
    faster = bf16 <= CLEAR_WIN * fp32
    log(f"{stage}: {'bf16' if faster else 'fp32'} (auto: a step took {fp32:.3f} s in fp32, {bf16:.3f} s in bf16; "
        f"set {stage}.bf16 to choose)")
    return faster


def forward_precision(setting: Optional[bool], stage: str, model: torch.nn.Module, batch: int, length: int,
                      log=print) -> bool:
    """A forward-only stage's bf16 (sampling, a frozen backbone's features): `setting` when set (no model
    needed), else auto's choice, timed on a forward pass at (batch, length)."""
    if setting is not None:
        return setting
    return choose_bf16(None, stage, next(model.parameters()).device, lambda: forward_step(model, batch, length), log)


def settle_training_precision(options, stage: str, model: torch.nn.Module, batch: int, length: int, log=print) -> None:
    """Resolve a training stage's `bf16` (its `TrainingOptions`) for `model`: `options.measured_bf16`
    holds auto's choice, timed on a forward and backward step at (batch, length)."""
    options.measured_bf16 = choose_bf16(options.bf16, stage, next(model.parameters()).device,
                                        lambda: training_step(model, batch, length), log)
