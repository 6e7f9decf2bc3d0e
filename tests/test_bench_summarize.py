"""bench/summarize.py --quick: the summarisation comparison end to end on a tiny model, two rounds."""

import json

from bench_modules import load_bench

summarize = load_bench("summarize")


def test_two_rounds_yield_every_systems_row_with_win_rates_rouge_and_copying(tmp_path, capsys):
    out = tmp_path / "figures.json"
    assert summarize.main(["--quick", "--workdir", str(tmp_path), "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    rows = {r["system"]: r for r in figures["rows"]}
    assert list(rows) == ["zero-shot", "supervised", "RL", "supervised + RL, round 0", "supervised + RL, round 1",
                          "reference", "lead-3"]
    for name, r in rows.items():
        assert r["n"] == 6 and r["rougeL"] is not None and r["words"] > 0
        if name != "zero-shot":
            assert r["labeler vs zero-shot"]["n"] == 6 and r["rm vs zero-shot"]["n"] == 6
        if name != "supervised":
            assert r["labeler vs supervised"]["n"] == 6
    assert rows["reference"]["rougeL"] == 1.0 and rows["lead-3"]["copied_lead"] == 1.0
    # Round 1 sampled round 0's policy into the same store and trained the supervised model only once.
    assert (tmp_path / "summarize-dialogsum" / "sft").is_dir() and not (tmp_path / "summarize-dialogsum-round1" / "sft").exists()
    assert not (tmp_path / "summarize-dialogsum-round1-rl").exists()  # RL from the base model: round 0 only
    assert {key.split("/")[0] for key in figures["stage_s"]} == {"0", "1"}
    assert [text.split(" preferred")[0] for text, _ in figures["verdicts"]][0] == "supervised + RL, round 1"
    printed = capsys.readouterr().out
    assert "labeler vs supervised" in printed and "target:" in printed and "Wall time per stage" in printed
