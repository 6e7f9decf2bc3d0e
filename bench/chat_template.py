"""Zero-shot summaries with and without the model's chat template: which prompt format to compare against.

The offline default (SmolLM2-135M-Instruct) is an instruct model: after a raw "...\\n\\nTL;DR:" it
often comments instead of summarising. `task.chat_template: true` wraps the same query in its chat
template as a user message. This samples the zero-shot model both ways on the same held-out
documents of a summarisation config and prints ROUGE-1/2/L against the references, the copying
statistics and length, side by side, with the wall time of each.

    python bench/chat_template.py                                   # configs/summarize_dialogsum.yaml, 64 documents
    python bench/chat_template.py --documents 32 --samples 2
    python bench/chat_template.py --quick                           # tiny random model: plumbing only
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
COLUMNS = ("rouge1", "rouge2", "rougeL", "copied_sentences", "copied_lead", "novel_trigrams", "length_words")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(ROOT / "configs" / "summarize_dialogsum.yaml"), help="A summarisation run config.")
    p.add_argument("--documents", type=int, default=64, help="Held-out documents (the eval split's first N).")
    p.add_argument("--samples", type=int, default=1, help="Summaries per document and format.")
    p.add_argument("--quick", action="store_true", help="Tiny random model (with a ChatML template) and the shipped documents.")
    p.add_argument("--workdir", default="/tmp/chat_template", help="Where --quick keeps its tiny model.")
    p.add_argument("--json", help="Also write the figures here.")
    return p.parse_args(argv)


def load(args):
    from rlhf.config.run_config import load_config

    overrides = [("evaluation.num_queries", args.documents)]
    if args.quick:
        from rlhf.models.tiny import save_tiny_model

        model = save_tiny_model(Path(args.workdir) / "tiny-llama", "llama")
        overrides += [("model.name", str(model)), ("prompts.kind", "demo"), ("prompts.path", "documents"),
                      ("prompts.fields", {}), ("prompts.id_field", None), ("task.query_length", 96),
                      ("task.response_length", 8), ("task.truncate_after", 2)]
    return load_config(args.config, overrides)


def with_template(tokenizer, quick: bool):
    """The tokenizer, given a ChatML template in --quick (the tiny model has none)."""
    if quick and not tokenizer.chat_template:
        tokenizer.chat_template = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
                                   "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    return tokenizer


def measure(config, model, tokenizer, chat: bool, samples: int) -> dict:
    from rlhf.evaluation.summaries import summary_metrics
    from rlhf.generation import generate, sampling_settings
    from rlhf.tasks.queries import queries_for

    config = replace(config, task=replace(config.task, chat_template=chat))
    queries = queries_for(config, tokenizer, "eval", config.evaluation.num_queries, log=lambda m: None)
    settings = replace(sampling_settings(config), num_samples=samples, batch_size=config.evaluation.batch_size)
    started = time.time()
    rows = generate(model, tokenizer, queries, settings)
    flat = [(s.text, q.document or q.source or "", q.reference) for q, row in zip(queries, rows) for s in row]
    figures = summary_metrics(*map(list, zip(*flat)))
    figures.update({"seconds": round(time.time() - started, 1), "documents": len(queries),
                    "query_tokens": sum(len(q.input_ids) for q in queries) / len(queries),
                    "example": rows[0][0].text})
    return figures


def main(argv=None) -> int:
    from rich.console import Console
    from rich.table import Table

    from rlhf.models.loading import load_model_for

    args = parse_args(argv)
    config = load(args)
    model, tokenizer = load_model_for(config, log=lambda m: print(m, file=sys.stderr))
    tokenizer = with_template(tokenizer, args.quick)
    results = {name: measure(config, model, tokenizer, chat, args.samples) for name, chat in (("raw", False), ("chat template", True))}
    table = Table(title=f"Zero-shot {config.model.name} on {results['raw']['documents']} held-out documents of "
                        f"{config.task.name}, {args.samples} sample(s) each")
    for column in ("format", "query tokens", *COLUMNS, "s"):
        table.add_column(column, justify="right")
    for name, r in results.items():
        table.add_row(name, f"{r['query_tokens']:.0f}", *(f"{r[c]:.3f}" if r[c] is not None else "-" for c in COLUMNS),
                      f"{r['seconds']:.0f}")
    Console(width=200).print(table)
    for name, r in results.items():
        print(f"first summary, {name}: {r['example']!r}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
