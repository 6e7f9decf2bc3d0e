"""One AdamW step over a model's weights: torch's per-tensor loops (`adamw_torch`) against its fused
kernel (`adamw_torch_fused`, the project's default), measured side by side in one process.

Every training stage takes optimizer steps; PPO takes one per mini-batch per epoch (4 per update in
the quick start), each over all 134.5M weights of SmolLM2-135M. The two compute the same update:
the table also prints the largest difference of the weights after the timed steps.

    python bench/optimizer.py              # SmolLM2-135M's weights, median of 7 steps each: seconds
    python bench/optimizer.py --quick      # a tiny random model
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The root on sys.path instead of bench/ (whose reward.py would shadow the `reward` package).
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from bench.record import load as load_average  # noqa: E402 (the root must be on sys.path first)

VARIANTS = {"adamw_torch": {"foreach": True}, "adamw_torch_fused": {"fused": True}}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="smollm2-135m", help="Model whose weights are stepped (alias or directory).")
    p.add_argument("--quick", action="store_true", help="A tiny random model.")
    p.add_argument("--steps", type=int, default=7, help="Timed steps per optimizer (after one warm-up).")
    return p.parse_args(argv)


def weights(args) -> list:
    import torch

    from rlhf.config.sections import ModelConfig
    from rlhf.models.loading import load_causal_lm

    if args.quick:
        import tempfile

        from rlhf.models.tiny import save_tiny_model

        args.model = str(save_tiny_model(Path(tempfile.mkdtemp()) / "tiny", "llama"))
    model, _ = load_causal_lm(ModelConfig(name=args.model, dtype="float32"), log=lambda *_: None)
    return [p.detach().clone().requires_grad_(True) for p in model.parameters() if p.dtype == torch.float32]


def time_steps(params: list, steps: int, **kwargs) -> tuple[float, list]:
    """Median seconds of one step (after a warm-up), and the weights it leaves."""
    import torch

    from rlhf.models.precision import step_seconds

    params = [p.detach().clone().requires_grad_(True) for p in params]
    generator = torch.Generator().manual_seed(0)
    for p in params:
        p.grad = torch.randn(p.shape, generator=generator)
    optimizer = torch.optim.AdamW(params, lr=1e-5, eps=1e-5, **kwargs)
    return step_seconds(optimizer.step, params[0].device, bf16=False, repeats=steps), params


def run(args) -> dict:
    params = weights(args)
    results = {name: time_steps(params, args.steps, **kw) for name, kw in VARIANTS.items()}
    base_s, base_w = results["adamw_torch"]
    fused_s, fused_w = results["adamw_torch_fused"]
    return {"parameters": sum(p.numel() for p in params), "seconds": {n: s for n, (s, _) in results.items()},
            "ratio": fused_s / base_s, "max_difference": max((a - b).abs().max().item() for a, b in zip(base_w, fused_w))}


def main(argv=None) -> int:
    args = parse_args(argv)
    before = load_average()
    figures = run(args)
    print(f"AdamW step over {figures['parameters'] / 1e6:.1f}M weights of {Path(args.model).name}, "
          f"median of {args.steps} steps each, one process; load average before {before}, "
          f"after {load_average()}")
    for name, seconds in figures["seconds"].items():
        print(f"  {name:<18} {seconds:.3f} s")
    print(f"  fused / per-tensor: {figures['ratio']:.2f}x the time; "
          f"largest weight difference after {args.steps + 1} steps: {figures['max_difference']:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
