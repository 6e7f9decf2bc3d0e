"""The dashboard's figures kept between renders (labeling_app/dashboard_figures.py): drawn at once while the store
is unchanged; after a change read again first (a small store) or in the background (a large one, with a note)."""

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
    figures, note = dashboard_figures.figures(store, 4, include_machines=False)
    labels = store.label_facts()
    names = {labeler.id: labeler.name for labeler in store.labelers()}
    assert note is None and figures.labeler_rows == stats.labeler_stats(labels, names, 4)
    assert figures.positions == stats.position_counts(labels, 4) and figures.overview == (9, 0, 0)
    people, everyone = figures.agreement(False), figures.agreement(True)
    assert (people.observed.pairs, everyone.observed.pairs) == (3, 9)
    assert people.corrected.krippendorff_alpha.low is not None  # the bootstrap interval, as the page shows it


def test_an_unchanged_store_gets_the_same_figures_and_a_small_changed_one_new_ones(store):
    first, _ = dashboard_figures.figures(store, 4, include_machines=False)
    assert dashboard_figures.figures(store, 4, include_machines=False)[0] is first
    store.submit(1, 4, skipped=True, reason="Other")
    again, note = dashboard_figures.figures(store, 4, include_machines=False)
    assert again is not first and note is None and again.overview == (9, 1, 0)


def test_a_large_changed_store_is_drawn_from_its_figures_until_the_new_ones_are_read(store, monkeypatch):
    monkeypatch.setattr(dashboard_figures, "SYNC_LABELS", 0)  # every store counts as large
    first, _ = dashboard_figures.figures(store, 4, include_machines=False)  # none kept yet: read now
    store.submit(1, 4, choice=2, shown_order=[0, 1, 2, 3])
    kept, note = dashboard_figures.figures(store, 4, include_machines=False)
    assert kept is first and "9 label rows; the store has 10 now" in note
    dashboard_figures._KEPT[store.url].reading.result()  # the background reading
    newer, note = dashboard_figures.figures(store, 4, include_machines=False)
    assert note is None and newer.overview == (10, 0, 0) and newer.version.label_rows == 10


def test_marking_gold_changes_the_version(store):
    first, _ = dashboard_figures.figures(store, 4, include_machines=False)
    store.mark_gold([(1, 0)], "app:ann")
    again, _ = dashboard_figures.figures(store, 4, include_machines=False)
    assert again is not first and again.answers == {1: 0} and {row.name: row.correct for row in again.gold}["ann"] == 1
