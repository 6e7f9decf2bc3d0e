"""Samplers at once on one store (SQLite; PostgreSQL too with RLHF_TEST_POSTGRES_URL): no query sampled twice in a round.

Two `rlhf sample` processes on one run used to sample the same queries (4 queries gave 8 batches with
identical samples). Here the sampling is `sample_for_labeling` with the model replaced by a slow fake
(the claims, not the model, are under test), in two spawned processes that start together.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
import types
from collections import Counter
from datetime import timedelta

import pytest

from rlhf.config import load_config
from rlhf.generation import Sample
from rlhf.labeling import batches
from rlhf.labeling.schema import utcnow
from rlhf.labeling.store import LabelStore
from rlhf.labeling.store_claims import CLAIM_STALE_AFTER, claim_owner, owner_gone
from rlhf.tasks.queries import Query

POLICY = "fake-policy"


def sampling_config(url: str, tmp_path, batch_size: int = 2):
    return load_config(None, [("model.name", POLICY), ("output_dir", str(tmp_path)), ("name", "race"),
                              ("generation.batch_size", batch_size), ("labeling.database_url", url),
                              ("generation.bf16", False)])  # the model is a fake: no precision to measure


def fake_queries(n: int) -> list[Query]:
    return [Query(id=f"q{i}", text=f"Story {i} begins.", input_ids=[i, i + 1]) for i in range(n)]


def slow_generate(model, tokenizer, queries, settings, progress=True):
    """The same samples for the same query and seed, as the real sampler gives; slow enough to overlap."""
    time.sleep(0.3)
    return [[Sample(q.id, j, f" {q.id} sample {j} seed {settings.seed}", [j], True) for j in range(settings.num_samples)]
            for q in queries]


def sampler_process(url: str, tmp_path, queries: int, n: int, start, results) -> None:
    batches.generate = slow_generate  # in this spawned process only
    store = LabelStore(url)
    try:
        start.wait(120)
        results.put(batches.sample_for_labeling(sampling_config(url, tmp_path), store, None, None, fake_queries(queries), n,
                                                log=lambda message: None))
    except BaseException as exc:  # noqa: BLE001 - the parent reports it
        results.put(repr(exc))
        raise
    finally:
        store.engine.dispose()


def race(url: str, tmp_path, monkeypatch, queries: int, n: int, samplers: int = 2) -> list:
    """`samplers` processes each asked for `n` new batches of the same `queries` queries, started together."""
    # As in test_concurrency: spawned children re-run the parent's __main__; a bare one keeps them to the sampler.
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    LabelStore(url).engine.dispose()  # the store and its tables exist before the race
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(samplers + 1), ctx.Queue()
    procs = [ctx.Process(target=sampler_process, args=(url, tmp_path, queries, n, start, results)) for _ in range(samplers)]
    for p in procs:
        p.start()
    start.wait(150)
    stored = [results.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(60)
    assert all(isinstance(s, int) for s in stored), stored
    return stored


def batches_per_query(url: str) -> Counter:
    store = LabelStore(url)
    try:
        return Counter(store.batch(i).query_id for i in range(1, store.count_batches() + 1))
    finally:
        store.engine.dispose()


def test_two_samplers_racing_on_four_queries_sample_each_once(store_url, tmp_path, monkeypatch):
    """The issue's case: 4 queries, two samplers each asked for 4: 4 batches, not 8."""
    stored = race(store_url, tmp_path, monkeypatch, queries=4, n=4)
    per_query = batches_per_query(store_url)
    assert sorted(per_query) == ["q0", "q1", "q2", "q3"] and set(per_query.values()) == {1}, per_query
    assert sum(stored) == 4
    store = LabelStore(store_url)
    assert store.row_counts()["sampling claims"] == 0  # both samplers handed back their claims
    store.engine.dispose()


def test_two_samplers_with_enough_queries_each_store_what_they_were_asked(store_url, tmp_path, monkeypatch):
    """12 queries, two samplers each asked for 5: 10 distinct queries, 5 each, as two runs one after the other."""
    stored = race(store_url, tmp_path, monkeypatch, queries=12, n=5)
    per_query = batches_per_query(store_url)
    assert stored == [5, 5] and len(per_query) == 10 and set(per_query.values()) == {1}, per_query


def test_a_claim_keeps_other_samplers_off_until_released(store_url):
    store = LabelStore(store_url)
    a, b = claim_owner(), claim_owner()
    ids = ["q0", "q1", "q2", "q3"]
    assert store.claim_queries(ids, POLICY, 0, a, 2) == ["q0", "q1"]
    assert store.claim_queries(ids, POLICY, 0, b, 3) == ["q2", "q3"]  # passes over a's claims
    assert store.claim_queries(ids, POLICY, 1, b, 1) == ["q0"]  # another round is another key
    assert store.claim_queries(ids, POLICY, 0, a, 4) == ["q0", "q1"]  # its own claims, renewed
    assert store.release_claims(a) == 2
    assert store.claim_queries(ids, POLICY, 0, b, 4) == ["q0", "q1", "q2", "q3"]
    store.engine.dispose()


def test_a_query_with_a_batch_is_not_claimed_again(store_url):
    store = LabelStore(store_url)
    store.add_queries([{"id": "q0", "task": "sentiment", "prompt": "P."}])
    store.add_batch("q0", ["a", "b"], policy=POLICY)
    assert store.claim_queries(["q0", "q1"], POLICY, 0, claim_owner(), 2) == ["q1"]
    store.engine.dispose()


def test_a_stale_claim_is_taken_over(store_url):
    """A claim of a sampler on another host, unrenewed for longer than CLAIM_STALE_AFTER, blocks no more."""
    store = LabelStore(store_url)
    elsewhere = "another-host|pid:[1]|123|abcd1234"
    long_ago = utcnow() - CLAIM_STALE_AFTER - timedelta(minutes=1)
    assert store.claim_queries(["q0"], POLICY, 0, elsewhere, 1, now=long_ago) == ["q0"]
    assert store.claim_queries(["q0"], POLICY, 0, claim_owner(), 1, now=long_ago + timedelta(minutes=30)) == []
    assert store.claim_queries(["q0"], POLICY, 0, claim_owner(), 1) == ["q0"]
    store.engine.dispose()


def test_a_killed_samplers_claim_on_this_host_is_taken_over_at_once(store_url):
    dead = subprocess.run([sys.executable, "-c", "from rlhf.labeling.store_claims import claim_owner; print(claim_owner())"],
                          capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    owner = dead.stdout.strip()  # a sampler whose process has ended, as after kill -9
    assert owner_gone(owner) and not owner_gone(claim_owner())
    store = LabelStore(store_url)
    assert store.claim_queries(["q0"], POLICY, 0, owner, 1) == ["q0"]
    assert store.claim_queries(["q0"], POLICY, 0, claim_owner(), 1) == ["q0"]
    store.engine.dispose()


def test_a_sampler_that_fails_hands_back_its_claims(store_url, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(batches, "generate", broken)
    store = LabelStore(store_url)
    with pytest.raises(RuntimeError, match="out of memory"):
        batches.sample_for_labeling(sampling_config(store_url, tmp_path), store, None, None, fake_queries(4), 4, log=lambda m: None)
    assert store.row_counts()["sampling claims"] == 0 and store.count_batches() == 0
    store.engine.dispose()
