import json
import logging

from rlhf.evaluation.dashboard_rows import comparison_rows, describe_rate, eval_summaries, policy_systems
from rlhf.evaluation.win_rates import WinRate


def metrics(task="sentiment", judges=None, systems=("policy", "zero-shot")) -> dict:
    judges = judges or {"sim:sentiment": {"policy": WinRate(30, 15, 5).to_dict(), "zero-shot": WinRate(0, 0, 0).to_dict()}}
    return {"task": task, "baseline": "zero-shot", "systems": list(systems), "queries": 50, "samples_per_query": 1,
            "judges": judges, "mean_scores": {judge: {s: 0.5 for s in systems} for judge in judges}}


def write_metrics(root, run, data) -> None:
    path = root / run / "eval" / "metrics.json"
    path.parent.mkdir(parents=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")


def test_eval_summaries_reads_every_evaluated_run_and_skips_broken_ones_with_a_note(tmp_path, caplog):
    write_metrics(tmp_path, "b-run", metrics(task="tldr"))
    write_metrics(tmp_path, "a-run", metrics())
    (tmp_path / "not-evaluated" / "eval").mkdir(parents=True)  # no metrics.json: left out quietly
    (tmp_path / "stray-file.txt").write_text("x")
    write_metrics(tmp_path, "truncated", '{"task": "tldr", "judges": {')
    write_metrics(tmp_path, "a-list", "[1, 2]")
    write_metrics(tmp_path, "no-judges", json.dumps({"task": "tldr"}))
    write_metrics(tmp_path, "no-rate", json.dumps(metrics(judges={"j": {"policy": {"wins": 3}}})))
    write_metrics(tmp_path, "bad-systems", json.dumps({**metrics(), "systems": "policy"}))
    notes = []
    with caplog.at_level(logging.WARNING, logger="rlhf.evaluation.dashboard_rows"):
        summaries = eval_summaries(tmp_path, notes)
    assert [s["run"] for s in summaries] == ["a-run", "b-run"]
    assert summaries[1]["task"] == "tldr" and summaries[0]["path"] == str(tmp_path / "a-run" / "eval" / "metrics.json")
    assert summaries[0]["judges"]["sim:sentiment"]["policy"]["wins"] == 30
    assert len(notes) == 5 and all(note.startswith("skipped run ") for note in notes)
    reasons = dict(note.split(": ", 1) for note in notes)
    assert "is not valid JSON" in reasons["skipped run truncated"]
    assert "is not a JSON object" in reasons["skipped run a-list"]
    assert "has no judges" in reasons["skipped run no-judges"]
    assert "no win_rate, low and high for judge 'j', system 'policy'" in reasons["skipped run no-rate"]
    assert "systems that are not a list" in reasons["skipped run bad-systems"]
    assert len(caplog.records) == 5


def test_eval_summaries_of_a_missing_folder_is_empty_with_a_note(tmp_path):
    notes = []
    assert eval_summaries(tmp_path / "nowhere", notes) == [] and "cannot list the runs" in notes[0]
    assert eval_summaries(tmp_path) == []  # no notes list: fine too


def test_comparison_rows_put_each_judges_win_rate_side_by_side(tmp_path):
    write_metrics(tmp_path, "r1", metrics())
    write_metrics(tmp_path, "r2", metrics(task="tldr", systems=("policy", "sft", "zero-shot"), judges={
        "rouge": {"policy": WinRate(6, 2, 2).to_dict(), "sft": WinRate(5, 5, 0).to_dict()}}))
    summaries = eval_summaries(tmp_path)
    assert policy_systems(summaries[1]) == ["policy", "sft"]
    rows = comparison_rows(summaries)
    assert [(r["run"], r["task"], r["system"]) for r in rows] == [("r1", "sentiment", "policy"), ("r2", "tldr", "policy"),
                                                                  ("r2", "tldr", "sft")]
    assert list(rows[0]) == ["run", "task", "system", "baseline", "rouge", "sim:sentiment"]
    low, high = WinRate(30, 15, 5).interval
    assert rows[0]["sim:sentiment"] == f"65.0% [{low:.1%}, {high:.1%}] (n=50)" and rows[0]["rouge"] == ""
    assert rows[2]["rouge"].startswith("50.0% [") and rows[1]["sim:sentiment"] == ""


def test_describe_rate_of_nothing_judged():
    assert describe_rate(WinRate(0, 0, 0).to_dict()) == "no judgements (n=0)"
    assert describe_rate(None) == "" and describe_rate({"win_rate": 0.5, "low": 0.25, "high": 0.75}) == "50.0% [25.0%, 75.0%]"
