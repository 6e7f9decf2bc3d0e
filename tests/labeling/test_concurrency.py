"""Many labelers at once on one label store (SQLite; PostgreSQL too with RLHF_TEST_POSTGRES_URL):
every label stored exactly once, none lost, double submits stored once, and no batch handed out
beyond `labelers_per_batch`.

The store is filled directly (queries and batches of fake text, no model), so these run in seconds.
"""

from __future__ import annotations

import multiprocessing
import random
import sys
import threading
import time
import types
from collections import Counter, defaultdict

import pytest
from sqlalchemy import select

from rlhf.labeling.schema import AssignmentRow, BatchRow, LabelRow
from rlhf.labeling.store import LabelStore

LABELERS = 16
PER_LABELER = 200


def on_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def fill(url: str, batches: int, labelers: int = LABELERS) -> list[int]:
    """A store with `batches` one-query batches of 4 fake samples and `labelers` labelers; their ids."""
    store = LabelStore(url)
    store.add_queries([{"id": f"q{i}", "task": "sentiment", "prompt": f"Story {i} begins."} for i in range(batches)])
    with store.session() as s, s.begin():  # the rows add_batch stores, in one transaction: ids 1, 2, ...
        s.add_all([BatchRow(query_id=f"q{i}", samples=[f" sample {i}.{j}" for j in range(4)], policy="fake", round=0,
                            settings={}, seed=0) for i in range(batches)])
    ids = [store.ensure_labeler(f"labeler{n}").id for n in range(labelers)]
    store.engine.dispose()
    return ids


def label_loop(store: LabelStore, labeler_id: int, limit: int, labelers_per_batch: int, seed: int) -> list[tuple[int, int]]:
    """Label until `limit` labels or nothing is left; (label id, batch id) of each confirmed label.

    Every fifth label is submitted twice with its client token (a retried request): the second
    submit must answer the first one's id.
    """
    rng = random.Random(seed)
    done = []
    while len(done) < limit:
        assignment = store.next_assignment(labeler_id, labelers_per_batch, rng=rng)
        if assignment is None:
            break
        token = f"{labeler_id}-{assignment.batch_id}"
        label = store.submit(labeler_id, assignment.batch_id, choice=rng.randrange(4), shown_order=assignment.shown_order,
                             seconds=1.0, client_token=token)
        if len(done) % 5 == 0:
            again = store.submit(labeler_id, assignment.batch_id, choice=0, shown_order=assignment.shown_order, client_token=token)
            assert again == label, (again, label)
        done.append((label, assignment.batch_id))
    return done


def stored_labels(url: str) -> list[LabelRow]:
    store = LabelStore(url)
    try:
        with store.session() as s:
            return list(s.scalars(select(LabelRow).order_by(LabelRow.id)))
    finally:
        store.engine.dispose()


def check_exact(url: str, results: dict[int, list[tuple[int, int]]], per_labeler: int, labelers_per_batch: int) -> None:
    """Exactly what the labelers were told was stored is stored, once each, within the overlap."""
    rows = stored_labels(url)
    confirmed = [label for done in results.values() for label, _ in done]
    assert all(len(done) == per_labeler for done in results.values()), {k: len(v) for k, v in results.items()}
    assert len(rows) == len(confirmed) == len(results) * per_labeler
    assert sorted(r.id for r in rows) == sorted(confirmed)  # none lost, none extra, no id given out twice
    assert len({r.client_token for r in rows}) == len(rows)
    by_id = {r.id: r for r in rows}
    for labeler_id, done in results.items():
        assert all(by_id[label].labeler_id == labeler_id and by_id[label].batch_id == batch for label, batch in done)
    pairs = Counter((r.batch_id, r.labeler_id) for r in rows)
    assert max(pairs.values()) == 1  # nobody labeled a batch twice
    holders = defaultdict(set)
    for r in rows:
        holders[r.batch_id].add(r.labeler_id)
    assert max(len(h) for h in holders.values()) <= labelers_per_batch
    store = LabelStore(url)
    with store.session() as s:
        assignments = list(s.scalars(select(AssignmentRow)))
    store.engine.dispose()
    assert Counter((a.batch_id, a.labeler_id) for a in assignments) == pairs  # one closed assignment per label
    assert all(a.done for a in assignments)
    per_batch = Counter(a.batch_id for a in assignments)
    assert max(per_batch.values()) <= labelers_per_batch


def run_threads(target, args_per_thread: list[tuple]) -> list:
    results, errors = [None] * len(args_per_thread), []
    start = threading.Barrier(len(args_per_thread))

    def work(i, args):
        try:
            start.wait()
            results[i] = target(*args)
        except BaseException as exc:  # noqa: BLE001 - reported below with the thread's arguments
            errors.append((args, repr(exc)))

    threads = [threading.Thread(target=work, args=(i, a)) for i, a in enumerate(args_per_thread)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a labeler thread hung"
    assert not errors, errors
    return results


@pytest.mark.parametrize("shared, per_labeler", [(False, PER_LABELER), (True, 50)], ids=["store-per-thread", "one-shared-store"])
def test_16_labeler_threads_store_every_label_exactly_once(store_url, shared, per_labeler):
    """16 x 200 labels with a store per thread; 16 x 50 more through one store all threads share."""
    url = store_url
    per_labeler = per_labeler if on_sqlite(url) else min(per_labeler, 50)  # PostgreSQL: 16 x 200 takes a minute
    ids = fill(url, LABELERS * per_labeler)
    one = LabelStore(url) if shared else None
    stores = [one or LabelStore(url) for _ in ids]
    started = time.perf_counter()
    done = run_threads(label_loop, [(stores[n], lid, per_labeler, 1, n) for n, lid in enumerate(ids)])
    print(f"{LABELERS} threads x {per_labeler} labels: {time.perf_counter() - started:.1f} s")
    for store in set(stores):
        store.engine.dispose()
    check_exact(url, dict(zip(ids, done)), per_labeler, 1)
    # labelers_per_batch=1 and as many batches as labels: every batch labeled by exactly one labeler
    assert sorted(r.batch_id for r in stored_labels(url)) == list(range(1, LABELERS * per_labeler + 1))


def process_labeler(url: str, labeler_id: int, limit: int, labelers_per_batch: int, seed: int, start, results) -> None:
    store = LabelStore(url)
    try:
        start.wait(120)
        results.put((labeler_id, label_loop(store, labeler_id, limit, labelers_per_batch, seed)))
    except BaseException as exc:  # noqa: BLE001 - the parent reports it
        results.put((labeler_id, repr(exc)))
        raise
    finally:
        store.engine.dispose()


def test_16_labeler_processes_store_every_label_exactly_once(store_url, monkeypatch):
    """16 spawned processes, 200 labels each (about 28 s on 2 cores; 25 each on PostgreSQL, whose store lock makes it slower)."""
    # Spawned children re-run the parent's __main__; after Streamlit's AppTest ran in this process
    # that is the app script. A bare __main__ keeps the children to the labeler function alone.
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    url, per_labeler = store_url, PER_LABELER if on_sqlite(store_url) else 25
    ids = fill(url, LABELERS * per_labeler)
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(LABELERS + 1), ctx.Queue()
    procs = [ctx.Process(target=process_labeler, args=(url, lid, per_labeler, 1, n, start, results)) for n, lid in enumerate(ids)]
    for p in procs:
        p.start()
    start.wait(150)  # every process imported and opened its store: now they label at once
    started = time.perf_counter()
    done = dict(results.get(timeout=180) for _ in procs)
    print(f"{LABELERS} processes x {per_labeler} labels: {time.perf_counter() - started:.1f} s")
    for p in procs:
        p.join(180)
    assert all(isinstance(v, list) for v in done.values()), {k: v for k, v in done.items() if not isinstance(v, list)}
    assert all(p.exitcode == 0 for p in procs)
    check_exact(url, done, per_labeler, 1)
    assert sorted(r.batch_id for r in stored_labels(url)) == list(range(1, LABELERS * per_labeler + 1))


def test_with_two_labelers_per_batch_each_batch_gets_two_distinct_labelers(store_url):
    batches = 200
    url = store_url
    ids = fill(url, batches)
    stores = [LabelStore(url) for _ in ids]
    # Everyone labels until nothing is left for them: 2 x 200 labels in all, none beyond the overlap.
    done = run_threads(label_loop, [(stores[n], lid, 10 ** 6, 2, n) for n, lid in enumerate(ids)])
    for store in stores:
        store.engine.dispose()
    results = dict(zip(ids, done))
    rows = stored_labels(url)
    assert sorted(r.id for r in rows) == sorted(label for d in done for label, _ in d)
    holders = defaultdict(list)
    for r in rows:
        holders[r.batch_id].append(r.labeler_id)
    assert len(holders) == batches and len(rows) == 2 * batches
    assert all(len(h) == len(set(h)) == 2 for h in holders.values())  # two distinct labelers, never one twice
    assert sum(len(d) for d in results.values()) == 2 * batches


def test_a_double_submit_racing_in_two_threads_is_stored_once(store_url):
    url = store_url
    rounds = 40
    labeler = fill(url, rounds, labelers=1)[0]
    stores = [LabelStore(url), LabelStore(url)]
    for batch in range(1, rounds + 1):
        assignment = stores[0].next_assignment(labeler)
        assert assignment.batch_id == batch
        token = f"tab-{batch}"
        first, second = run_threads(
            lambda store: store.submit(labeler, batch, choice=1, shown_order=assignment.shown_order, client_token=token),
            [(stores[0],), (stores[1],)])
        assert first == second
    for store in stores:
        store.engine.dispose()
    rows = stored_labels(url)
    assert len(rows) == rounds and sorted(r.client_token for r in rows) == sorted(f"tab-{b}" for b in range(1, rounds + 1))
    assert sorted(r.batch_id for r in rows) == list(range(1, rounds + 1))
