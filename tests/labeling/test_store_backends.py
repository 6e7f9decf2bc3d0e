"""What the label store promises on every backend it supports (SQLite and PostgreSQL: `store_url`)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from rlhf.labeling.store import LabelStore


def filled_store(url: str, batches: int) -> LabelStore:
    store = LabelStore(url)
    store.add_queries([{"id": f"q{i}", "task": "sentiment", "prompt": f"Prompt {i}.", "token_ids": [i, 2]}
                       for i in range(batches)])
    for i in range(batches):
        store.add_batch(f"q{i}", [f"s{i}-{j}" for j in range(4)], policy="base", settings={"t": 0.7, "n": [1, 2]})
    return store


def test_labelers_racing_for_assignments_never_push_a_batch_past_k(store_url):
    """Read-then-write transactions do not interleave (SQLite: BEGIN IMMEDIATE; PostgreSQL: the
    store's advisory lock), so a batch never gets more than k = 1 holders."""
    store = filled_store(store_url, 12)
    labelers = [store.add_labeler(f"l{n}") for n in range(6)]
    start = threading.Barrier(len(labelers))

    def label_all(labeler) -> list[int]:
        start.wait()
        done = []
        while (item := store.next_assignment(labeler.id, labelers_per_batch=1)) is not None:
            store.submit(labeler.id, item.batch_id, choice=item.shown_order[0], shown_order=item.shown_order)
            done.append(item.batch_id)
        return done

    with ThreadPoolExecutor(len(labelers)) as pool:
        results = list(pool.map(label_all, labelers))
    assert sorted(b for r in results for b in r) == list(range(1, 13))
    assert len(store.labels()) == 12
    store.engine.dispose()


def test_values_come_back_as_stored(store_url):
    store = filled_store(store_url, 1)
    ann = store.add_labeler("ann", role="admin")
    store.submit(ann.id, 1, choice=3, shown_order=[3, 1, 0, 2], seconds=2.5, flagged=True, reason="ünïcode ✓")
    batch, query, [label] = store.batch(1), store.query("q0"), store.labels()
    assert (batch.samples, batch.settings, query.token_ids, query.split) == (["s0-0", "s0-1", "s0-2", "s0-3"],
                                                                             {"t": 0.7, "n": [1, 2]}, [0, 2], "train")
    assert (label.choice, label.shown_order, label.seconds, label.skipped, label.flagged, label.reason) == \
        (3, [3, 1, 0, 2], 2.5, False, True, "ünïcode ✓")
    created = label.created_at  # SQLite hands back naive UTC, PostgreSQL an aware time
    created = created if created.tzinfo else created.replace(tzinfo=timezone.utc)
    assert abs((datetime.now(timezone.utc) - created).total_seconds()) < 120
    assert store.progress(ann.id).labels_per_hour == 3600 / 2.5
    store.engine.dispose()
