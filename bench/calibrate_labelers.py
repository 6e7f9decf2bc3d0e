"""Calibration of the simulated labelers: the Boltzmann temperature at which two of them agree ~60%.

Ziegler et al.'s labelers agreed with each other about 60% of the time on 4-way choices. For each
simulated labeler kind, this samples 4 continuations of real prompts with the offline default model
(the paper's sampling settings of the kind's task), scores them, and prints the expected agreement
of two independent labelers (`rlhf.labeling.simulated.expected_agreement`) at T = 0, at the shipped
default T, and the T that gives exactly 60%.

  kind             prompts                                                   task
  sentiment        /work/shared/data/stories/austen (Jane Austen excerpts)   sentiment
  descriptiveness  the same Austen excerpts and samples                      descriptiveness
  rouge            /work/shared/data/summarization/bbc_news_summary.jsonl     cnndm (500/75 tokens)

Samples are cached as JSONL in --samples-dir, so a second run only scores. Figures are printed,
never checked. Run from the repository root (about 5 minutes of sampling on a laptop CPU, then
seconds):
    python bench/calibrate_labelers.py
    python bench/calibrate_labelers.py --prompts 200 --samples-dir /tmp/calibration
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from rlhf.labeling.simulated import (
    DEFAULT_TEMPERATURES,
    SCORERS,
    TARGET_AGREEMENT,
    expected_agreement,
    temperature_for_agreement,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SOURCES = {
    "austen": [("prompts.path", str(DATA / "stories" / "austen"))],
    "bbc": [("task", "cnndm"), ("generation.batch_size", 8),
            ("prompts", {"path": str(DATA / "summarization" / "bbc_news_summary.jsonl"),
                         "fields": {"document": "article", "reference": "summary"}})],
}
KIND_SOURCE = {"sentiment": "austen", "descriptiveness": "austen", "rouge": "bbc"}


def sample_batches(source: str, n: int, cache: Path) -> list[dict]:
    """4 continuations of the first n train-split prompts of a source (read from the cache if there)."""
    if cache.is_file():
        return [json.loads(line) for line in cache.read_text(encoding="utf-8").splitlines()]
    from rlhf.config.run_config import load_config
    from rlhf.generation import generate, sampling_settings
    from rlhf.models.loading import load_model_for
    from rlhf.run.files import write_jsonl
    from rlhf.tasks.queries import queries_for

    config = load_config(None, SOURCES[source] + [("generation.num_samples", 4)])
    model, tokenizer = load_model_for(config)
    queries = queries_for(config, tokenizer, "train", n)
    results = generate(model, tokenizer, queries, sampling_settings(config))
    rows = [{"query_id": q.id, "query": q.text, "reference": q.reference, "samples": [s.text for s in samples]}
            for q, samples in zip(queries, results)]
    write_jsonl(cache, rows)
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=100, help="prompts (4-way batches) per source")
    parser.add_argument("--samples-dir", type=Path, default=Path("runs/labeler-calibration"))
    parser.add_argument("--kinds", default=",".join(SCORERS), help="comma-separated labeler kinds")
    args = parser.parse_args(argv)
    table = Table(title=f"Simulated labeler agreement (target {TARGET_AGREEMENT:.0%})")
    for column in ("kind", "batches", "all tied", "agreement T=0", "default T", "agreement at default",
                   f"T for {TARGET_AGREEMENT:.0%}"):
        table.add_column(column, justify="right")
    for kind in args.kinds.split(","):
        source = KIND_SOURCE[kind]
        rows = sample_batches(source, args.prompts, args.samples_dir / f"{source}-{args.prompts}.jsonl")
        scores = [[SCORERS[kind](r["query"], s, r["reference"]) for s in r["samples"]] for r in rows]
        tied = sum(len(set(s)) == 1 for s in scores)
        default = DEFAULT_TEMPERATURES[kind]
        table.add_row(kind, str(len(scores)), str(tied), f"{expected_agreement(scores, 0.0):.3f}", f"{default:g}",
                      f"{expected_agreement(scores, default):.3f}", f"{temperature_for_agreement(scores):.4f}")
    Console().print(table)


if __name__ == "__main__":
    main()
