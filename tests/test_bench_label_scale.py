"""bench/label_scale.py --quick: a tiny store built and measured end to end on SQLite, the built store as the app
writes it, and verdicts computed from the figures against the targets."""

import json

import pytest
from bench_modules import load_bench
from sqlalchemy import func, select

from rlhf.labeling.schema import AssignmentRow, BatchRow, GoldRow, LabelRow
from rlhf.labeling.store import LabelStore
from rlhf.labeling.store_places import counted_holders

bench = load_bench("label_scale")
store_bench = load_bench("label_scale_store")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("label-scale")
    out = workdir / "figures.json"
    assert bench.main(["--quick", "--backends", "sqlite", "--workdir", str(workdir), "--json", str(out)]) == 0
    return workdir, json.loads(out.read_text())


def test_quick_measures_every_figure_on_sqlite(quick, capsys):
    _, [figures] = quick
    assert figures["backend"] == "sqlite" and figures["steps"] == 3 * 4 and figures["step_errors"] == []
    for key in ("step_p50_ms", "step_p95_ms", "step_p99_ms", "steps_per_s", "dashboard_first_s", "dashboard_s", "export_s",
                "reward_load_s", "reading_step_p95_ms", "figures_ready_s", "dashboard_full_s"):
        assert figures[key] > 0, key
    assert figures["dashboard_first_complete"]  # a small store's figures are read before its first render
    assert figures["reading_steps"] == 3 * 1 and len(figures["readings_s"]) >= 1
    assert figures["step_p50_ms"] <= figures["step_p95_ms"] <= figures["step_p99_ms"]
    # Each step stored one label (4 per session, then 1 while the figures were read), and one before a dashboard render.
    assert figures["labels_after"] == 600 + 3 * 4 + 1 + 3 * 1
    assert figures["verdicts"] == {key: figures[key] < target for key, target in bench.TARGETS.items()}
    assert len(figures["load_before"].split()) == 3


def test_the_built_store_is_what_the_app_writes(quick):
    workdir, _ = quick
    [template] = workdir.glob("sqlite-*.db")
    store = LabelStore(f"sqlite:///{template}")
    try:
        plan = store_bench.Plan(300, 600, 6, 2)
        with store.session() as s:
            assert s.scalar(select(func.count(LabelRow.id))) == 600
            assert s.scalar(select(func.count(GoldRow.batch_id))) == plan.gold
            corrections = s.scalar(select(func.count(LabelRow.id)).where(LabelRow.supersedes.is_not(None)))
            assert corrections == plan.corrections and s.scalar(select(func.count(AssignmentRow.id))) == 600 - corrections
            counted = counted_holders(s)
        labels = store.labels(effective=False)
        assert all(label.client_token or label.supersedes for label in labels) and all(label.seconds for label in labels)
        assert {label.skipped for label in labels} == {True, False}
        with store.session() as s:
            stored = {b: (people, machines) for b, people, machines in
                      s.execute(select(BatchRow.id, BatchRow.held_by_people, BatchRow.held_by_machines)) if people or machines}
        assert stored == counted  # the holder counters, as the store keeps them
        assert store.progress(6, 3, count_machines=False).available > store.progress(6, 3).done  # batches left to label
    finally:
        store.engine.dispose()


def test_the_verdicts_and_the_table_follow_the_figures(monkeypatch, capsys):
    figures = {"backend": "sqlite", "build_s": 1.0, "step_p50_ms": 20.0, "step_p95_ms": 150.0, "step_p99_ms": 200.0,
               "steps_per_s": 9.0, "dashboard_first_s": 5.0, "dashboard_s": 0.5, "export_s": 30.0, "reward_load_s": None,
               "steps": 10, "load_before": "1.00 1.00 1.00", "load_after": "2.00 2.00 2.00"}
    figures["verdicts"] = bench.verdicts(figures)
    assert figures["verdicts"] == {"step_p95_ms": False, "dashboard_first_s": False, "dashboard_s": True, "export_s": True,
                                   "reward_load_s": None}
    monkeypatch.setitem(bench.TARGETS, "export_s", 10.0)  # a stricter target turns the same figure into a miss
    assert bench.verdicts(figures)["export_s"] is False
    from rich.console import Console

    bench.print_table([figures], bench.parse_args(["--quick", "--backends", "sqlite"]), Console(width=260))
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("│ sqlite"))
    assert "150.0 NOT MET" in row and "0.50 met" in row and "1.00 1.00 1.00 / 2.00 2.00 2.00" in row


def test_sizes_that_leave_no_batch_to_label_are_refused(capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(["--batches", "1000", "--labels", "20000", "--gold", "10", "--backends", "sqlite"])
    assert "open places" in capsys.readouterr().err
