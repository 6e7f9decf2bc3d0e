"""The dashboard's figures kept between renders (labeling_app/dashboard_figures.py): drawn at once while the store
is unchanged; after a change read again first (a small store) or in the background (a large one, with a note)."""

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from labeling_app import dashboard_figures
from labeling_app.synthetic import fill_store, synthetic_batches
from rlhf.labeling import stats
from rlhf.labeling.store import LabelStore, sqlite_url


@pytest.fixture
def store(tmp_path):
    store = LabelStore(sqlite_url(tmp_path / "labels.db"))
    fill_store(store, synthetic_batches(6))
    for name in ("ann", "bob"):
        store.add_labeler(name, f"{name}-password")
    robot = store.ensure_labeler("sim:sentiment")
    for batch in (1, 2, 3):
        store.submit(1, batch, choice=0, shown_order=[0, 1, 2, 3], seconds=4.0)
        store.submit(2, batch, choice=batch % 2, shown_order=[3, 2, 1, 0], seconds=6.0)
        store.submit(robot.id, batch, choice=3)
    yield store
    store.engine.dispose()


def test_the_figures_are_the_statistics_of_the_stores_labels(store):
    figures, note = dashboard_figures.figures(store, 4)
    labels = store.label_facts()
    names = {labeler.id: labeler.name for labeler in store.labelers()}
    assert note is None and figures.labeler_rows == stats.labeler_stats(labels, names, 4)
    assert figures.positions == stats.position_counts(labels, 4) and figures.overview == (9, 0, 0)
    people, everyone = figures.agreement(False), figures.agreement(True)
    assert (people.observed.pairs, everyone.observed.pairs) == (3, 9)
    assert people.corrected.krippendorff_alpha.low is not None  # the bootstrap interval, as the page shows it


def test_an_unchanged_store_gets_the_same_figures_and_a_small_changed_one_new_ones(store):
    first, _ = dashboard_figures.figures(store, 4)
    assert dashboard_figures.figures(store, 4)[0] is first
    store.submit(1, 4, skipped=True, reason="Other")
    again, note = dashboard_figures.figures(store, 4)
    assert again is not first and note is None and again.overview == (9, 1, 0)


def test_a_large_changed_store_is_drawn_from_its_figures_until_the_new_ones_are_read(store, monkeypatch):
    monkeypatch.setattr(dashboard_figures, "SYNC_LABELS", 0)  # every store counts as large
    none_yet, note = dashboard_figures.figures(store, 4)  # not waited for: read in the background
    assert none_yet is None and note.startswith("Computing the figures of 9 label rows (started ")
    assert dashboard_figures._KEPT[store.url].reading is not None  # one reading, however often the page asks
    reading = dashboard_figures._KEPT[store.url].reading
    again, _ = dashboard_figures.figures(store, 4)
    assert again is not None or dashboard_figures._KEPT[store.url].reading is reading  # asked again: no second reading
    dashboard_figures.settle(store.url)
    assert dashboard_figures.ready(store.url)
    first, note = dashboard_figures.figures(store, 4)
    assert note is None and first.overview == (9, 0, 0)
    store.submit(1, 4, choice=2, shown_order=[0, 1, 2, 3])
    kept, note = dashboard_figures.figures(store, 4)
    assert kept is first and "9 label rows; the store has 10 now" in note
    dashboard_figures._KEPT[store.url].reading.result()  # the background reading
    newer, note = dashboard_figures.figures(store, 4)
    assert note is None and newer.overview == (10, 0, 0) and newer.version.label_rows == 10


def test_marking_gold_changes_the_version(store):
    first, _ = dashboard_figures.figures(store, 4)
    store.mark_gold([(1, 0)], "app:ann")
    again, _ = dashboard_figures.figures(store, 4)
    assert again is not first and again.answers == {1: 0} and {row.name: row.correct for row in again.gold}["ann"] == 1


def test_warming_starts_a_large_stores_reading_once_and_leaves_a_small_one_to_the_page(store, monkeypatch):
    dashboard_figures.warm(store, 4)
    assert dashboard_figures._KEPT[store.url].reading is None and not dashboard_figures.ready(store.url)  # small
    monkeypatch.setattr(dashboard_figures, "SYNC_LABELS", 0)
    dashboard_figures.warm(store, 4)
    assert dashboard_figures._KEPT[store.url].reading is None  # once per process and store: it was warmed
    dashboard_figures._KEPT.pop(store.url)  # a new process
    dashboard_figures.warm(store, 4)
    dashboard_figures.settle(store.url)
    figures, note = dashboard_figures.figures(store, 4)
    assert note is None and figures.overview == (9, 0, 0)  # ready when the admin first opens the page


def test_a_store_that_cannot_be_counted_is_not_warmed_now_but_later(store, monkeypatch):
    from rlhf.labeling.store import DatabaseError

    monkeypatch.setattr(dashboard_figures, "SYNC_LABELS", 0)
    real_count = store.label_rows_and_newest

    def unavailable():
        raise DatabaseError("SELECT", {}, Exception("the server went away"))

    monkeypatch.setattr(store, "label_rows_and_newest", unavailable)
    dashboard_figures.warm(store, 4)  # the page that called it goes on
    assert dashboard_figures._KEPT[store.url].reading is None
    monkeypatch.setattr(store, "label_rows_and_newest", real_count)
    dashboard_figures.warm(store, 4)
    assert dashboard_figures._KEPT[store.url].reading is not None
    dashboard_figures.settle(store.url)


def test_a_failed_background_reading_is_the_next_renders_error_then_read_again(store, monkeypatch):
    monkeypatch.setattr(dashboard_figures, "SYNC_LABELS", 0)
    monkeypatch.setattr(dashboard_figures, "_EXECUTOR", ThreadPoolExecutor(1))  # the failure is injected in this process
    real_read = dashboard_figures._read_by_url
    monkeypatch.setattr(dashboard_figures, "_read_by_url", lambda *args: 1 / 0)
    assert dashboard_figures.figures(store, 4)[0] is None
    dashboard_figures.settle(store.url)
    with pytest.raises(ZeroDivisionError):
        dashboard_figures.figures(store, 4)
    monkeypatch.setattr(dashboard_figures, "_read_by_url", real_read)
    assert dashboard_figures.figures(store, 4)[0] is None  # a new reading started
    dashboard_figures.settle(store.url)
    assert dashboard_figures.figures(store, 4)[0].overview == (9, 0, 0)


def test_the_background_reading_runs_in_another_process_and_sends_the_figures_without_the_labels(store):
    assert dashboard_figures._executor().submit(os.getpid).result() != os.getpid()  # not a thread of the app's process
    sent = dashboard_figures.read_in_background(store, 4).result()
    here = dashboard_figures.read(store, 4)
    assert sent.labels is None and "latest" not in sent.__dict__
    assert (sent.overview, sent.labeler_rows, sent.gold, sent.positions) == (here.overview, here.labeler_rows, here.gold, here.positions)
    assert sent.agreement(True) == here.agreement(True) and sent.agreement(False) == here.agreement(False)
    with pytest.raises(TypeError):  # a figure it did not compute is not computed from no labels
        dashboard_figures.Figures.latest.func(sent)


def test_both_ways_of_the_agreement_toggle_are_computed_with_the_figures(store):
    figures, _ = dashboard_figures.figures(store, 4)
    assert set(figures.__dict__["_agreement"]) == {False, True}  # the robot's labels can be toggled in at once
