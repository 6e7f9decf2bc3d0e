"""The holder counters of each batch (rlhf/labeling/store_places.py): they equal counting the assignments
by their labelers' kinds after every way an assignment is made, and after a labeler's kind changes."""

import random

import pytest
from sqlalchemy import select

from rlhf.labeling.schema import BatchRow
from rlhf.labeling.store import LabelStore
from rlhf.labeling.store_places import counted_holders


@pytest.fixture
def store(store_url):  # SQLite and PostgreSQL (tests/conftest.py)
    store = LabelStore(store_url)
    store.add_queries([{"id": f"q{i}", "task": "sentiment", "prompt": f"Prompt {i}."} for i in range(6)])
    for i in range(6):
        store.add_batch(f"q{i}", [f"s{i}-{j}" for j in range(4)], policy="base")
    yield store
    store.engine.dispose()


def stored_holders(store) -> dict[int, tuple[int, int]]:
    with store.session() as s:
        rows = s.execute(select(BatchRow.id, BatchRow.held_by_people, BatchRow.held_by_machines))
        return {batch: (people, machines) for batch, people, machines in rows if people or machines}


def agree(store) -> dict[int, tuple[int, int]]:
    with store.session() as s:
        counted = counted_holders(s)
    assert stored_holders(store) == counted
    return counted


def test_assignments_handed_out_and_labels_without_one_are_counted_by_kind(store):
    ann, bob = store.add_labeler("ann", "ann-password"), store.add_labeler("bob", "bob-password")
    robot = store.ensure_labeler("sim:sentiment")
    for labeler in (ann, bob, robot):
        item = store.next_assignment(labeler.id, labelers_per_batch=2, count_machines=False, rng=random.Random(0))
        store.submit(labeler.id, item.batch_id, choice=0, shown_order=item.shown_order)
    store.submit(robot.id, 6, choice=1)  # an imported or simulated label: its assignment is made with it
    store.next_assignment(ann.id, labelers_per_batch=2, count_machines=False)  # open, not labeled yet
    assert agree(store) == {1: (2, 1), 2: (1, 0), 6: (0, 1)}


def test_a_correction_or_a_repeated_token_takes_no_second_place(store):
    ann = store.add_labeler("ann", "ann-password")
    item = store.next_assignment(ann.id)
    first = store.submit(ann.id, item.batch_id, choice=0, shown_order=item.shown_order, client_token="t")
    assert store.submit(ann.id, item.batch_id, choice=0, shown_order=item.shown_order, client_token="t") == first
    store.correct(first, choice=2)
    assert agree(store) == {item.batch_id: (1, 0)}


def test_a_labeler_given_a_password_moves_to_the_people(store):
    imported = store.ensure_labeler("file:team-a")
    for batch in (1, 2):
        store.submit(imported.id, batch, choice=0)
    assert agree(store) == {1: (0, 1), 2: (0, 1)}
    store.reset_password("file:team-a", actor="cli:test")
    assert agree(store) == {1: (1, 0), 2: (1, 0)}
    ann = store.add_labeler("ann", "ann-password")
    # People now hold batches 1 and 2 once each: at k = 1 a person is handed batch 3 first.
    assert store.next_assignment(ann.id, labelers_per_batch=1, count_machines=False).batch_id == 3
    store.change_password(imported.id, "a new password")  # had one already: nothing moves
    assert agree(store)[1] == (1, 0)


def test_machines_and_people_hold_places_apart_unless_machines_count(store):
    ann, robot = store.add_labeler("ann", "ann-password"), store.ensure_labeler("sim:sentiment")
    for batch in range(1, 6):
        store.submit(robot.id, batch, choice=0)
    assert store.next_assignment(ann.id, labelers_per_batch=1, count_machines=False).batch_id == 1
    bob = store.add_labeler("bob", "bob-password")
    assert store.next_assignment(bob.id, labelers_per_batch=1, count_machines=True).batch_id == 6
    assert store.progress(bob.id, labelers_per_batch=1, count_machines=True).available == 1
    assert store.progress(bob.id, labelers_per_batch=1, count_machines=False).available == 5  # 2 to 6: ann holds 1
