"""This machine's limits, measured: matmul peaks in fp32 and bf16, memory bandwidth, and the CPU's
vector extensions (whether it has bf16 instructions at all).

The peaks are what `bench/ppo.py` divides its training FLOP/s by, and the bandwidth bounds its
rollout's sampled tokens/s. bf16 on a CPU without avx512_bf16 or AMX runs through a slow fallback
(on an AVX2-only EPYC about a hundredth of fp32's rate), so a precision is only worth choosing
once its peak has been measured here.

    python bench/machine.py            # peaks up to 2048x2048 matmuls, a 512 MB copy: seconds
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

BANDWIDTH_MB = 512  # well past the caches, so the copy measures main memory
MAX_MATMUL = 2048
SLOW_MATMUL_S = 0.05  # stop growing the matrices once one product takes this long: a slow fallback stays quick


def _median_seconds(op, device: str, repeats: int) -> float:
    """Median wall time of op over repeats runs, after one warm-up run, the device synchronised around each."""
    import torch

    from rlhf.models.precision import step_seconds

    return step_seconds(op, torch.device(device), bf16=False, repeats=repeats)


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def matmul_peak_flops(precision: str, max_size: int = MAX_MATMUL, repeats: int = 5) -> tuple[float, int]:
    """Measured matmul FLOP/s in this precision, and the square size that measured it.

    The size doubles from 256 up to max_size while one product stays under SLOW_MATMUL_S, so the
    fast paths are measured at a size that fills the cores and a slow one does not take minutes.
    """
    import torch

    device, dtype = _device(), torch.bfloat16 if precision == "bf16" else torch.float32
    size = 256
    while True:
        a, b = (torch.randn(size, size, device=device, dtype=dtype) for _ in range(2))
        seconds = _median_seconds(lambda: a @ b, device, repeats)
        if size >= max_size or seconds >= SLOW_MATMUL_S:
            return 2 * size**3 / seconds, size
        size *= 2


def memory_bandwidth(megabytes: int = BANDWIDTH_MB, repeats: int = 5) -> float:
    """Measured memory bandwidth in bytes/s: a copy reads and writes each byte once."""
    import torch

    device = _device()
    src = torch.ones(megabytes * 2**20 // 4, device=device)
    dst = torch.empty_like(src)
    return 2 * src.numel() * src.element_size() / _median_seconds(lambda: dst.copy_(src), device, repeats)


def vector_extensions() -> str:
    """What the CPU offers for bf16 and wide vectors, as torch sees it (the GPU's name on CUDA)."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    cpu = torch.backends.cpu.get_cpu_capability()
    bf16 = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return f"{cpu}, {'with' if bf16 else 'no'} bf16 instructions (avx512_bf16 or AMX)"


def measure(max_size: int = MAX_MATMUL, megabytes: int = BANDWIDTH_MB) -> dict:
    peaks = {p: matmul_peak_flops(p, max_size) for p in ("fp32", "bf16")}
    return {"device": _device(), "vector_extensions": vector_extensions(),
            "peak_flops": {p: flops for p, (flops, _) in peaks.items()},
            "peak_size": {p: size for p, (_, size) in peaks.items()},
            "bandwidth": memory_bandwidth(megabytes)}


def describe(limits: dict) -> list[str]:
    fp32, bf16 = limits["peak_flops"]["fp32"], limits["peak_flops"]["bf16"]
    sizes = limits["peak_size"]
    return [f"device: {limits['device']} ({limits['vector_extensions']})",
            f"matmul peak fp32: {fp32 / 1e9:.1f} GFLOP/s ({sizes['fp32']}x{sizes['fp32']})",
            f"matmul peak bf16: {bf16 / 1e9:.1f} GFLOP/s ({sizes['bf16']}x{sizes['bf16']}), {bf16 / fp32:.2f}x fp32's",
            f"memory bandwidth: {limits['bandwidth'] / 1e9:.1f} GB/s (a copy)"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="Small sizes: checks the plumbing only.")
    args = p.parse_args(argv)
    limits = measure(256, 16) if args.quick else measure()
    print("\n".join(describe(limits)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
