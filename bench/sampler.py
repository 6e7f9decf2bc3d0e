"""Sampling with generate()'s torch.multinomial against the project's inverse-CDF draw
(rlhf/token_sampler.py), measured side by side in one process, alternating.

Two figures for each: one draw of a token for every row of a batch (the step that changed), and
sampling a whole batch of continuations as the labeling and evaluation stages do (a batch of
queries, 4 samples each, the query's cache shared by its samples, every response run to its full
length so both sample the same number of tokens).

    python bench/sampler.py            # SmolLM2-135M, 16 queries x 4 samples, 64+24 tokens: about 3 minutes
    python bench/sampler.py --quick    # a tiny random model
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The root on sys.path instead of bench/ (whose reward.py would shadow the `reward` package).
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from bench.record import load as load_average  # noqa: E402 (the root must be on sys.path first)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="smollm2-135m", help="Model sampled from (alias or directory).")
    p.add_argument("--quick", action="store_true", help="A tiny random model.")
    p.add_argument("--queries", type=int, default=16, help="Queries per batch (4 samples each).")
    p.add_argument("--query-length", type=int, default=64)
    p.add_argument("--new-tokens", type=int, default=24)
    p.add_argument("--repeats", type=int, default=5, help="Timed runs of each, alternating (after a warm-up).")
    return p.parse_args(argv)


def load(args):
    from rlhf.config.sections import ModelConfig
    from rlhf.models.loading import load_causal_lm

    if args.quick:
        import tempfile

        from rlhf.models.tiny import save_tiny_model

        args.model = str(save_tiny_model(Path(tempfile.mkdtemp()) / "tiny", "llama"))
    model, tokenizer = load_causal_lm(ModelConfig(name=args.model, dtype="float32"), log=lambda *_: None)
    return model.eval(), tokenizer


def samplers(model, tokenizer, args):
    """{name: (one draw for every row, one batch sampled)} for multinomial and the inverse-CDF draw."""
    import torch
    from transformers import GenerationConfig

    from rlhf.generation import query_cache
    from rlhf.token_sampler import draw, sampling_processors

    temperature, copies = 0.7, 4
    ids = torch.randint(100, len(tokenizer) - 100, (args.queries, args.query_length), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    rows = (ids.repeat_interleave(copies, 0), mask.repeat_interleave(copies, 0))
    scores = torch.randn(args.queries * copies, model.config.vocab_size, generator=torch.Generator().manual_seed(1))
    common = dict(max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens, pad_token_id=tokenizer.pad_token_id)

    @torch.no_grad()
    def batch(config, processors=None):
        cache = query_cache(model, ids, mask, copies)
        return model.generate(input_ids=rows[0], attention_mask=rows[1], generation_config=config, cache=cache,
                              logits_processor=processors)

    multinomial = GenerationConfig(do_sample=True, temperature=temperature, top_k=0, **common)
    greedy = GenerationConfig(do_sample=False, **common)
    return {
        "torch.multinomial (generate's sampling)": (
            lambda: torch.multinomial((scores / temperature).softmax(-1), 1), lambda: batch(multinomial)),
        "inverse CDF (rlhf.token_sampler)": (
            lambda: draw(scores / temperature), lambda: batch(greedy, sampling_processors(temperature, 0, 1.0))),
    }


def time_alternating(functions: dict, repeats: int) -> dict:
    """{name: median seconds}, the functions run in turn so a slower spell of the machine hits each."""
    times: dict = {name: [] for name in functions}
    for round_ in range(repeats + 1):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            if round_:  # the first round is warm-up
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def run(args) -> dict:
    model, tokenizer = load(args)
    pairs = samplers(model, tokenizer, args)
    draws = time_alternating({name: one for name, (one, _) in pairs.items()}, args.repeats)
    batches = time_alternating({name: whole for name, (_, whole) in pairs.items()}, args.repeats)
    return {"vocabulary": model.config.vocab_size, "rows": args.queries * 4, "draw": draws, "batch": batches}


def main(argv=None) -> int:
    args = parse_args(argv)
    before = load_average()
    figures = run(args)
    print(f"{Path(args.model).name}: {args.queries} queries x 4 samples ({figures['rows']} rows), "
          f"{args.query_length}+{args.new_tokens} tokens, vocabulary {figures['vocabulary']}; median of {args.repeats} "
          f"runs each, alternating; load average before {before}, "
          f"after {load_average()}")
    (old, new) = figures["draw"]
    print(f"{'':42} {'one draw, ms':>14} {'a batch, s':>12}")
    for name in figures["draw"]:
        print(f"{name:42} {figures['draw'][name] * 1e3:14.2f} {figures['batch'][name]:12.2f}")
    print(f"inverse CDF / multinomial: one draw {figures['draw'][new] / figures['draw'][old]:.2f}x the time, "
          f"a batch {figures['batch'][new] / figures['batch'][old]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
