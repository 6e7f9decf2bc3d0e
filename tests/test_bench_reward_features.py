"""bench/reward_features.py on the tiny model: both orders timed on the same labels; length order pads no more."""

import re

from bench_modules import load_bench

bench = load_bench("reward_features")


def test_quick_prints_both_orders_and_the_ratio(shared_data, monkeypatch, capsys):
    monkeypatch.setattr(bench.long_queries, "DIALOGSUM", shared_data / "summarization" / "dialogsum.dev.jsonl")
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"\| (given order \(before\)|by length \(now\)) \| ([\d.]+) \| (\d+)% \|", out)
    assert [name for name, _, _ in rows] == ["given order (before)", "by length (now)"]
    assert all(float(seconds) > 0 for _, seconds, _ in rows)
    assert int(rows[1][2]) >= int(rows[0][2])  # batches of like lengths waste no more columns
    assert re.search(r"by length / given order: [\d.]+x", out)


def test_the_real_share_counts_each_batch_padded_to_its_longest_query():
    labels = [{"query_length": n} for n in (10, 2, 8, 4)]
    assert bench.real_share(labels, [labels[:2], labels[2:]]) == 24 / (2 * 10 + 2 * 8)
