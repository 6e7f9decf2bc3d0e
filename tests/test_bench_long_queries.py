"""bench/long_queries.py on the tiny model: one table row per length and mode, the ratio on the dropped row."""

import re

from bench_modules import load_bench

bench = load_bench("long_queries")


def test_quick_prints_kept_and_dropped_rows_per_length(shared_data, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(bench, "DIALOGSUM", shared_data / "summarization" / "dialogsum.dev.jsonl")
    assert bench.main(["--quick"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if re.match(r"\| \d+ \| (kept|dropped) \|", line)]
    assert [row.split(" | ")[:2] for row in rows] == [["| 32", "kept"], ["| 32", "dropped"], ["| 96", "kept"], ["| 96", "dropped"]]
    assert all("update" in row and "label" in row for row in rows[1::2])
    real = [int(re.search(r"\| (\d+)% \|", row).group(1)) for row in rows]
    assert all(0 < share <= 100 for share in real) and real[0] == real[1]  # both modes see the same queries


def test_padding_kept_restores_what_it_patched():
    import rlhf.policy.rollout as rollout

    before = rollout.real_columns, rollout.length_order
    with bench.padding_kept(True):
        assert rollout.real_columns is not before[0] and rollout.length_order is not before[1]
    assert (rollout.real_columns, rollout.length_order) == before
