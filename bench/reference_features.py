"""PPO rollouts with a frozen-backbone reward: seconds per rollout with the reward model's own forward pass
(before) and with its features read from the reference pass (now, `rlhf.policy.reference_features`),
side by side at query lengths 64, 256 and 500.

Real documents: DialogSum dialogues from ../shared/data, encoded as the summarisation config encodes
them (`bench/long_queries.py`'s `queries_at`), left-padded to the longest of each batch. The reward
model is a mean-pooled head on the base model's frozen trunk, the policy and reference are the base
model: the RL-from-base policy of the summarisation comparison and the quick start's policy. A rollout
samples --response tokens, then runs the policy-and-value, reference and reward passes, in chunks of
--chunk queries. Both ways see the same batches and seeds, alternating batch by batch; the table
prints the median of --repeats timed rollouts of each after one warm-up, the ratio, and the largest
difference between the two ways' scores (the reuse is exact up to float rounding).

    python bench/reference_features.py                 # SmolLM2-135M, lengths 64 256 500
    python bench/reference_features.py --quick         # tiny random model: plumbing only
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The repository first and bench/ last: bench/reward.py would shadow the `reward` package; long_queries is found there.
sys.path[:] = ([str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() not in (ROOT, Path(__file__).resolve().parent)]
               + [str(ROOT / "bench")])

import long_queries  # noqa: E402  (its queries_at and models build what the summarisation config builds)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lengths", type=int, nargs="+", default=[64, 256, 500], help="Query lengths in tokens.")
    p.add_argument("--response", type=int, default=48, help="Response tokens sampled.")
    p.add_argument("--batch", type=int, default=8, help="Queries per rollout.")
    p.add_argument("--chunk", type=int, default=4, help="Rollout chunk (rows per pass).")
    p.add_argument("--repeats", type=int, default=3, help="Timed rollouts per length and way, after one warm-up.")
    p.add_argument("--model", default="smollm2-135m", help="Base model (alias or directory).")
    p.add_argument("--quick", action="store_true", help="Tiny random model, lengths 32 and 96, 2 repeats.")
    return p.parse_args(argv)


def rollout_seconds(model, reference, scorer, queries, args, pad: int, eos: int, seed: int):
    """(seconds, scores) of one rollout of `queries`."""
    import torch

    from rlhf.generation import SamplingSettings
    from rlhf.policy.rollout import ResponseRule, collect

    torch.manual_seed(seed)
    started = time.perf_counter()
    rollout = collect(model, lambda: nullcontext(reference), scorer, queries,
                      SamplingSettings(temperature=0.7, max_new_tokens=args.response), ResponseRule([], 0, None), pad, eos,
                      chunk=args.chunk)
    return time.perf_counter() - started, rollout.scores


def measure(args, length: int, nets, shared) -> dict:
    tokenizer, model, reference, reward = nets
    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    queries = long_queries.queries_at(args, length, tokenizer)
    if len(queries) < args.batch * (args.repeats + 1):
        raise SystemExit(f"only {len(queries)} queries of at most {length} tokens; need {args.batch * (args.repeats + 1)}")
    batches = [long_queries.left_padded([q.input_ids for q in queries[i * args.batch:(i + 1) * args.batch]], pad)
               for i in range(args.repeats + 1)]
    own, reused, differences = [], [], []
    model.eval()
    for seed, batch in enumerate(batches):
        own_s, own_scores = rollout_seconds(model, reference, reward, batch, args, pad, eos, seed)
        reused_s, reused_scores = rollout_seconds(model, reference, shared, batch, args, pad, eos, seed)
        if seed:  # the first batch warms up
            own.append(own_s)
            reused.append(reused_s)
        differences.append(float((own_scores - reused_scores).abs().max()))
    return {"length": length, "own_s": statistics.median(own), "reused_s": statistics.median(reused),
            "difference": max(differences)}


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from rlhf.models.loading import resolve
    from rlhf.policy.reference_features import shared_trunk

    torch.manual_seed(0)
    if args.quick:
        from rlhf.models.tiny import save_tiny_model

        location = str(save_tiny_model(Path("/tmp/reference-features-tiny"), "llama"))
        args.lengths, args.repeats, args.batch, args.response = [32, 96], 2, 8, 8
    else:
        location = resolve(args.model, log=lambda m: print(m, file=sys.stderr))
    args.model = location
    nets = long_queries.models(location)
    shared = shared_trunk(nets[3], nets[2])
    if shared is None:
        raise SystemExit(f"the reward model built on {location} does not share the reference's trunk: nothing to compare")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; batch {args.batch}, chunk {args.chunk}, "
          f"{args.response} response tokens, {args.repeats} timed rollouts of each way after a warm-up; model {location}; "
          f"the reward reads block {shared.depth} of the reference")
    print("\n| query tokens | s / rollout, own reward pass (before) | s / rollout, read from the reference pass (now) "
          "| now / before | largest score difference |")
    print("|---|---|---|---|---|")
    for length in args.lengths:
        r = measure(args, length, nets, shared)
        print(f"| {length} | {r['own_s']:.2f} | {r['reused_s']:.2f} | {r['reused_s'] / r['own_s']:.2f}x | "
              f"{r['difference']:.1e} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
