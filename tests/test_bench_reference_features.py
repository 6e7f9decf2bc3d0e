"""bench/reference_features.py on the tiny model: both ways timed on the same batches, with equal scores."""

import re

from bench_modules import load_bench

bench = load_bench("reference_features")


def test_quick_prints_both_ways_per_length_with_equal_scores(shared_data, monkeypatch, capsys):
    monkeypatch.setattr(bench.long_queries, "DIALOGSUM", shared_data / "summarization" / "dialogsum.dev.jsonl")
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^\| (\d+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+)x \| ([\d.e+-]+) \|$", out, re.M)
    assert [row[0] for row in rows] == ["32", "96"]
    assert all(float(own) > 0 and float(reused) > 0 for _, own, reused, _, _ in rows)
    assert all(float(difference) < 1e-4 for *_, difference in rows)
    assert "the reward reads block 2 of the reference" in out
