"""Reward features for a head fitted alone (`reward.train_backbone: false`): seconds per label with the labels
run in the order given (before) and in order of length (now, `reward.head_fit.label_features`), side by side.

Real documents: DialogSum dialogues from ../shared/data, encoded as the summarisation config encodes
them at --length query tokens (cut at a whole turn), each with 4 samples of 8 to 48 ordinary tokens.
"Before" runs the same batches of --batch labels as the code did (each batch alone, so nothing is
reordered across batches); "now" hands all labels to `label_features` at once. Prints the median of
--repeats timings of each, after one warm-up, the ratio, and how many of the computed query columns
were real tokens in each.

    python bench/reward_features.py                 # SmolLM2-135M, 500-token queries, 64 labels
    python bench/reward_features.py --quick         # tiny random model: plumbing only
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The repository first and bench/ last: bench/reward.py would shadow the `reward` package; long_queries is found there.
sys.path[:] = ([str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() not in (ROOT, Path(__file__).resolve().parent)]
               + [str(ROOT / "bench")])

import long_queries  # noqa: E402  (its queries_at encodes DialogSum as the summarisation config does)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--length", type=int, default=500, help="Query length in tokens.")
    p.add_argument("--labels", type=int, default=64, help="Labels (4 samples each) timed per repeat.")
    p.add_argument("--batch", type=int, default=8, help="Labels per forward batch (reward.batch_size).")
    p.add_argument("--repeats", type=int, default=3, help="Timed runs of each order, after one warm-up.")
    p.add_argument("--model", default="smollm2-135m", help="Base model (alias or directory).")
    p.add_argument("--quick", action="store_true", help="Tiny random model, 96-token queries, 16 labels, 1 repeat.")
    return p.parse_args(argv)


def labels_at(args, tokenizer, vocab: int) -> list[dict]:
    import torch

    queries = long_queries.queries_at(args, args.length, tokenizer)[: args.labels]
    if len(queries) < args.labels:
        raise SystemExit(f"only {len(queries)} queries of at most {args.length} tokens; need {args.labels}")
    generator = torch.Generator().manual_seed(0)
    sample = lambda: torch.randint(vocab // 4, vocab // 2, (int(torch.randint(8, 49, (1,), generator=generator)),),
                                   generator=generator).tolist()
    return [{"sequences": [q.input_ids + sample() for _ in range(4)], "best": 0, "query_length": len(q.input_ids)}
            for q in queries]


def real_share(labels: list[dict], batches: list[list[dict]]) -> float:
    """Real query tokens over the query columns computed (each batch pads its queries to its longest)."""
    real = sum(label["query_length"] for label in labels)
    return real / sum(len(b) * max(label["query_length"] for label in b) for b in batches)


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from reward.data import collate
    from reward.head_fit import label_features
    from reward.model import build_reward_model
    from rlhf.models.loading import resolve
    from rlhf.models.tokenizer import load_tokenizer

    if args.quick:
        from rlhf.models.tiny import save_tiny_model

        location = str(save_tiny_model(Path("/tmp/reward-features-tiny"), "llama"))
        args.length, args.labels, args.repeats = 96, 16, 1
    else:
        location = resolve(args.model, log=lambda m: print(m, file=sys.stderr))
    args.model = location
    tokenizer = load_tokenizer(location, padding_side="right")
    model = build_reward_model(location, tokenizer, pooling="mean")
    labels = labels_at(args, tokenizer, model.get_input_embeddings().num_embeddings)
    pad = partial(collate, pad_id=tokenizer.pad_token_id)
    given = [labels[i : i + args.batch] for i in range(0, len(labels), args.batch)]
    by_length = sorted(labels, key=lambda label: max(len(s) for s in label["sequences"]))
    runs = {"given order (before)": lambda: [label_features(model, b, pad, args.batch) for b in given],
            "by length (now)": lambda: label_features(model, labels, pad, args.batch)}
    shares = {"given order (before)": real_share(labels, given),
              "by length (now)": real_share(labels, [by_length[i : i + args.batch] for i in range(0, len(labels), args.batch)])}
    seconds = {name: [] for name in runs}
    for repeat in range(args.repeats + 1):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            if repeat:  # the first is a warm-up
                seconds[name].append((time.perf_counter() - started) / len(labels))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {len(labels)} labels of 4 samples, batches of "
          f"{args.batch}, queries of at most {args.length} tokens; median of {args.repeats} after a warm-up; model {location}")
    print("\n| order | s / label | query tokens real |")
    print("|---|---|---|")
    for name in runs:
        print(f"| {name} | {statistics.median(seconds[name]):.3f} | {shares[name]:.0%} |")
    before, now = (statistics.median(seconds[name]) for name in runs)
    print(f"\nby length / given order: {now / before:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
