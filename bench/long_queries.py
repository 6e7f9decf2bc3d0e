"""Long queries: PPO seconds per update and reward seconds per label at query lengths 64, 256 and 500,
with the padding columns dropped (now) and kept (before), side by side in one process.

Real documents: DialogSum dialogues from ../shared/data (median about 190 SmolLM2 tokens), as the
summarisation config encodes them (`{document}\\n\\nTL;DR:`, cut at a whole turn to the query length),
left-padded to the longest of each batch as the PPO trainer's collator pads them. One PPO update is
a rollout (sample `--response` tokens, then the policy-and-value, reference and reward passes) plus
one PPO epoch (forward and backward over the batch in micro-batches); a reward label is the forward
pass over its four query + sample sequences (the shipped summarisation reward trains a head on frozen
features, so that pass is its cost). Both modes see the same queries and seeds.

  kept:    every pass runs over the batch's full width (what the code did before), micro-batches in
           the minibatch's random order, rollout chunks in batch order;
  dropped: columns that are padding in every row are dropped (rlhf/models/padding.py), rollout chunks
           and micro-batches are taken in order of query length (rlhf/policy/rollout.py, trainer.py).

Prints per length and mode the median seconds (of --repeats timed updates after one warm-up), the
share of each phase, the query tokens that were real against those computed, and the ratio dropped/kept.

    python bench/long_queries.py                  # SmolLM2-135M, lengths 64 256 500
    python bench/long_queries.py --quick          # tiny random model, short lengths: plumbing only
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
CONFIG = ROOT / "configs" / "summarize_dialogsum.yaml"
DIALOGSUM = ROOT.parent / "shared" / "data" / "summarization" / "dialogsum.dev.jsonl"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lengths", type=int, nargs="+", default=[64, 256, 500], help="Query lengths in tokens.")
    p.add_argument("--response", type=int, default=48, help="Response tokens sampled.")
    p.add_argument("--batch", type=int, default=16, help="Queries per PPO update.")
    p.add_argument("--chunk", type=int, default=4, help="Rollout chunk and PPO micro-batch (rows per pass).")
    p.add_argument("--labels", type=int, default=16, help="Reward labels timed per repeat (4 sequences each).")
    p.add_argument("--repeats", type=int, default=3, help="Timed updates per length and mode, after one warm-up.")
    p.add_argument("--model", default="smollm2-135m", help="Base model (alias or directory).")
    p.add_argument("--quick", action="store_true", help="Tiny random model, lengths 32 and 96, 2 repeats.")
    return p.parse_args(argv)


@contextmanager
def padding_kept(kept: bool):
    """While `kept`, every pass runs over the full width and chunks keep the batch's order (the code before)."""
    import torch

    import reward.model
    import rlhf.policy.rollout
    import rlhf.policy.trainer
    import rlhf.policy.value_head

    patches = [(reward.model, "real_columns", lambda mask, trailing=True: slice(None)),
               (rlhf.policy.value_head, "real_columns", lambda mask, trailing=True: slice(None)),
               (rlhf.policy.rollout, "real_columns", lambda mask, trailing=True: slice(None)),
               (rlhf.policy.rollout, "length_order", lambda queries, pad: torch.arange(queries.shape[0])),
               (rlhf.policy.trainer, "by_query_length", lambda batch, queries, pad: batch)]
    saved = [(module, name, getattr(module, name)) for module, name, _ in patches]
    try:
        if kept:
            for module, name, value in patches:
                setattr(module, name, value)
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


def queries_at(args, length: int, tokenizer) -> list:
    """The training split's DialogSum queries, encoded as the summarisation config does at `length` tokens."""
    from rlhf.config.run_config import load_config
    from rlhf.tasks.queries import queries_for

    overrides = [("output_dir", "/tmp/long-queries-unused"), ("task.query_length", length),
                 ("prompts.path", str(DIALOGSUM)), ("model.name", args.model)]
    return queries_for(load_config(str(CONFIG), overrides), tokenizer, "train", log=lambda m: None)


def models(location: str):
    import torch
    from transformers import AutoModelForCausalLM

    from reward.model import build_reward_model
    from rlhf.models.tokenizer import add_pad_token, load_tokenizer
    from rlhf.policy.value_head import SharedTrunkPolicyValue, ValueHead

    tokenizer = load_tokenizer(location)
    policy = AutoModelForCausalLM.from_pretrained(location, torch_dtype=torch.float32)
    add_pad_token(tokenizer, policy)
    reference = AutoModelForCausalLM.from_pretrained(location, torch_dtype=torch.float32)
    add_pad_token(tokenizer, reference)
    reward = build_reward_model(location, tokenizer, pooling="mean").eval()
    for p in reward.parameters():
        p.requires_grad_(False)
    return tokenizer, SharedTrunkPolicyValue(policy, ValueHead(policy.config.hidden_size)), reference.eval(), reward


def left_padded(rows: list[list[int]], pad: int):
    import torch

    width = max(len(r) for r in rows)
    return torch.tensor([[pad] * (width - len(r)) + r for r in rows])


def ppo_update(model, reference, reward, queries, args, pad: int, eos: int, seed: int) -> dict:
    """Seconds of one update's phases: rollout (sampling and scoring) and one PPO epoch."""
    import torch

    from rlhf.generation import SamplingSettings
    from rlhf.policy import trainer
    from rlhf.policy.rollout import ResponseRule, collect
    from rlhf.policy.value_head import policy_and_values, token_logprobs

    torch.manual_seed(seed)
    sampling = SamplingSettings(temperature=0.7, max_new_tokens=args.response)
    started = time.perf_counter()
    model.eval()
    rollout = collect(model, lambda: nullcontext(reference), reward, queries, sampling, ResponseRule([], 0, None), pad, eos,
                      chunk=args.chunk)
    rolled = time.perf_counter()
    model.train()
    order = torch.randperm(queries.shape[0], generator=torch.Generator().manual_seed(seed))
    batch = trainer.by_query_length(order, rollout.queries, pad)
    for start in range(0, len(batch), args.chunk):
        idx = batch[start : start + args.chunk]
        logits, values = policy_and_values(model, rollout.query_responses[idx], pad, args.response)
        loss = -token_logprobs(logits, rollout.responses[idx], 0.7).mean() + values.pow(2).mean()
        loss.backward()
    model.zero_grad(set_to_none=True)
    return {"rollout": rolled - started, "train": time.perf_counter() - rolled}


def reward_labels(reward, query_ids: list[list[int]], args, pad: int, seed: int) -> float:
    """Seconds per label: the reward model's forward over each label's 4 query + sample sequences."""
    import torch

    from reward.model import sequence_rewards

    generator = torch.Generator().manual_seed(seed)
    vocab = reward.get_input_embeddings().num_embeddings
    started = time.perf_counter()
    for start in range(0, args.labels, 4):  # 4 labels (16 sequences) per batch, as reward training reads them
        rows = []
        for q in query_ids[start : start + 4]:
            for _ in range(4):
                n = int(torch.randint(8, args.response + 1, (1,), generator=generator))
                rows.append(q + torch.randint(vocab // 4, vocab // 2, (n,), generator=generator).tolist())  # ordinary tokens
        ids = left_padded(rows, pad)
        mask = ids != pad
        response = torch.zeros_like(mask)
        for i, r in enumerate(rows):
            response[i, ids.shape[1] - (len(r) - len(query_ids[start + i // 4])):] = True
        with torch.no_grad():
            sequence_rewards(reward, ids.masked_fill(~mask, 0), mask.long(), response)
    return (time.perf_counter() - started) / args.labels


def measure(args, length: int, nets) -> list[dict]:
    tokenizer, model, reference, reward = nets
    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    queries = queries_at(args, length, tokenizer)
    need = args.batch * (args.repeats + 1)
    if len(queries) < need:
        raise SystemExit(f"only {len(queries)} queries of at most {length} tokens; need {need}")
    batches = [left_padded([q.input_ids for q in queries[i * args.batch:(i + 1) * args.batch]], pad)
               for i in range(args.repeats + 1)]
    real = sum(int((b != pad).sum()) for b in batches[1:])
    computed = sum(b.numel() for b in batches[1:])
    rows = []
    for kept in (True, False):
        with padding_kept(kept):
            times = [ppo_update(model, reference, reward, b, args, pad, eos, seed=i) for i, b in enumerate(batches)][1:]
            label = [reward_labels(reward, [q.input_ids for q in queries[i * args.labels:]], args, pad, seed=i)
                     for i in range(args.repeats + 1)][1:]
        update = [t["rollout"] + t["train"] for t in times]
        rows.append({"length": length, "mode": "kept" if kept else "dropped",
                     "update_s": statistics.median(update), "rollout_s": statistics.median(t["rollout"] for t in times),
                     "train_s": statistics.median(t["train"] for t in times), "label_s": statistics.median(label),
                     "real_query_tokens": real / computed, "queries": len(queries)})
    return rows


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from rlhf.models.loading import resolve

    torch.manual_seed(0)
    if args.quick:
        from rlhf.models.tiny import save_tiny_model

        location = str(save_tiny_model(Path("/tmp/long-queries-tiny"), "llama"))
        args.lengths, args.repeats, args.batch, args.response, args.labels = [32, 96], 2, 8, 8, 8
    else:
        location = resolve(args.model, log=lambda m: print(m, file=sys.stderr))
    args.model = location
    nets = models(location)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; batch {args.batch}, chunk and micro-batch "
          f"{args.chunk}, {args.response} response tokens, {args.repeats} timed updates after a warm-up; model {location}")
    print("\n| query tokens | mode | s / PPO update | rollout | PPO epoch | s / reward label | query tokens real | dropped / kept |")
    print("|---|---|---|---|---|---|---|---|")
    for length in args.lengths:
        kept, dropped = measure(args, length, nets)
        for r in (kept, dropped):
            ratio = "" if r is kept else f"update {dropped['update_s'] / kept['update_s']:.2f}x, label {dropped['label_s'] / kept['label_s']:.2f}x"
            print(f"| {length} | {r['mode']} | {r['update_s']:.2f} | {r['rollout_s']:.2f} | {r['train_s']:.2f} | "
                  f"{r['label_s']:.3f} | {r['real_query_tokens']:.0%} | {ratio} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
