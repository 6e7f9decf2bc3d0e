"""The dashboard's gold section and the labeling page's gold items, in-process with AppTest."""

import pandas as pd
import pytest
from test_labeling_app import USERS, errors, on_screen, progress_text, sign_in

from labeling_app.synthetic import fill_store, make_run


@pytest.fixture
def run(tmp_path, monkeypatch):
    """A run with 8 synthetic batches, gold_rate 0.5, threshold 60% on 3+ gold answers."""
    import types

    from labeling_app import context

    config_path, store = make_run(tmp_path / "runs", "goldtest", batches=8, labelers=USERS)
    text = config_path.read_text().replace("labelers_per_batch: 1", "labelers_per_batch: 1\n  gold_rate: 0.5\n"
                                           "  gold_min_accuracy: 0.6\n  gold_min_items: 3")
    config_path.write_text(text)
    monkeypatch.setenv("RLHF_CONFIG", str(config_path))
    monkeypatch.setattr(context, "min_reading_seconds", lambda run: 0.0)
    return types.SimpleNamespace(config=config_path, store=store)


def open_dashboard():
    at = sign_in("root", "root-password")
    return at.switch_page("routes/dashboard.py").run()


def gold_table(at):
    return next(frame.value for frame in at.dataframe if "gold accuracy" in frame.value.columns).set_index("labeler")


def test_the_dashboard_shows_gold_accuracy_with_its_interval_and_flags_a_poor_labeler(run):
    store = run.store
    store.mark_gold([(b, 0) for b in (1, 2, 3, 4)], "app:root")
    ann, bob = store.labeler("ann"), store.labeler("bob")
    robot = store.ensure_labeler("sim:sentiment")
    for batch in (1, 2, 3, 4):
        store.submit(ann.id, batch, choice=0 if batch < 4 else 1)  # 3 of 4
        store.submit(bob.id, batch, choice=2)  # 0 of 4
        store.submit(robot.id, batch, choice=0)
    store.submit(ann.id, 5, skipped=True, reason="Other")
    at = open_dashboard()
    assert not at.exception and not errors(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Gold batches"] == "4" and metrics["Served as"] == "50% of items" and metrics["Gold answers"] == "12"
    table = gold_table(at)
    assert list(table.index) == ["ann", "bob", "sim:sentiment"]
    assert (table.loc["ann", "gold answered"], table.loc["ann", "correct"], table.loc["ann", "gold accuracy"]) == (4, 3, 0.75)
    assert table.loc["ann", "low"] == pytest.approx(0.3006, abs=1e-3) and table.loc["ann", "high"] == pytest.approx(0.9544, abs=1e-3)
    assert table.loc["bob", "gold accuracy"] == 0.0 and table.loc["bob", "high"] == pytest.approx(0.4899, abs=1e-3)
    # Three choosers per batch. bob's others both chose 0 on batches 1-3 (he chose 2); on batch 4 (ann 1,
    # robot 0) and for ann and the robot everywhere, the two others differ: no majority.
    assert table.loc["bob", "agreement with majority"] == 0.0 and table.loc["bob", "on batches"] == 3
    assert table.loc["ann", "on batches"] == table.loc["sim:sentiment", "on batches"] == 0
    assert pd.isna(table.loc["ann", "agreement with majority"]) and table.loc["ann", "passed"] == 0  # the skip: not gold
    assert list(table["below threshold"]) == [False, True, False]
    assert any("1 labeler(s) below the gold threshold of 60%" in w.value for w in at.warning)
    assert any("Below the threshold: bob" in h.value for h in at.html)


def test_an_admin_marks_a_batch_gold_from_the_dashboard_then_makes_it_ordinary(run):
    fill_store(run.store, [("Say <b>hi</b>", [" <script>alert(1)</script>", " **b**", " c", " d"])], prefix="nasty")
    at = open_dashboard()
    assert any("No gold questions yet" in i.value for i in at.info)
    at.number_input(key="gold_batch_id").set_value(9).run()
    shown = next(h.value for h in at.html if "&lt;script&gt;" in h.value)
    assert "<script>" not in shown and "&lt;b&gt;hi&lt;/b&gt;" in shown  # model text is inert here too
    at.radio(key="gold_best_9").set_value(2).run()
    at.button(key="gold_mark").click().run()
    assert run.store.gold_answers() == {9: 2} and run.store.gold_batches()[0].source == "app:root"
    assert any("Batch 9 is gold, best: sample 3." in s.value for s in at.success)
    assert {m.label: m.value for m in at.metric}["Gold batches"] == "1"
    at.button(key="gold_unmark").click().run()
    assert run.store.gold_answers() == {} and any("ordinary batch again" in s.value for s in at.success)
    at.number_input(key="gold_batch_id").set_value(99).run()
    assert any("There is no batch 99" in i.value for i in at.info)


def test_a_labeler_gets_gold_items_like_any_other_and_the_label_is_stored(run):
    run.store.mark_gold([(b, 0) for b in (7, 8)], "app:root")
    at = sign_in("ann", "ann-password")
    seen = []
    for step in range(8):
        assert f"{step} / 8" in progress_text(at)  # gold items count from the start: the total never moves
        seen.append(on_screen(at)[0])
        at.button(key="choose_0").click().run()
    assert sorted(seen) == list(range(1, 9)) and any("All done" in s.value for s in at.success)
    assert {label.batch_id for label in run.store.labels()} == set(range(1, 9))
    assert run.store.gold_tallies()["ann"][1] == 2  # both gold answers scored
