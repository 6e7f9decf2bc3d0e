"""A tiny-model SFT run config, for tests/sft/ and the GPU tests (tests/test_on_gpu.py)."""

from __future__ import annotations

from rlhf.config.run_config import load_config


def sft_config(tmp_path, model_dir, *extra, task="sentiment"):
    """Demo stories (or documents, for tldr), 48-token queries, 32 examples, 2 epochs; `extra` overrides."""
    summaries = [("prompts.path", "documents"), ("task.query_length", 200), ("task.truncate_after", 8)]
    return load_config(None, [
        ("model.name", str(model_dir)), ("output_dir", str(tmp_path / "runs")), ("name", "sft"), ("task", task),
        ("prompts.kind", "demo"), ("prompts.path", "stories"), ("task.query_length", 48), ("task.response_length", 24),
        *(summaries if task == "tldr" else []),
        ("sft.batch_size", 4), ("sft.learning_rate", 3e-3), ("sft.epochs", 2), ("sft.max_examples", 32),
        ("sft.logging_steps", 1), ("sft.eval_steps", 100), ("sft.save_steps", 4), *extra,
    ])
