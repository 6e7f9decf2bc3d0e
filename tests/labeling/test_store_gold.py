"""Gold questions in the label store (rlhf/labeling/store_gold.py and next_assignment's gold_rate):
marking, serving at the configured rate to every labeler, progress, and scoring per labeler."""

import random

import pytest
from scipy.stats import binomtest

from rlhf.errors import RLHFError
from rlhf.labeling.store import LabelStore


@pytest.fixture
def store(store_url):  # on SQLite and on PostgreSQL (tests/conftest.py)
    return store_with(store_url, 10)


def store_with(url: str, batches: int) -> LabelStore:
    store = LabelStore(url)
    store.add_queries([{"id": f"q{i}", "task": "sentiment", "prompt": f"Prompt {i}."} for i in range(batches)])
    for i in range(batches):
        store.add_batch(f"q{i}", [f"s{i}-{j}" for j in range(4)], policy="base")
    return store


def label_all(store: LabelStore, labeler_id: int, gold_rate: float, k: int = 1, rng=None, limit=None) -> list[int]:
    """The batch ids handed to the labeler, in order, each labeled (first sample shown) at once."""
    seen = []
    while limit is None or len(seen) < limit:
        item = store.next_assignment(labeler_id, k, rng=rng, gold_rate=gold_rate)
        if item is None:
            break
        seen.append(item.batch_id)
        store.submit(labeler_id, item.batch_id, choice=item.shown_order[0], shown_order=item.shown_order)
    return seen


def test_marking_gold_checks_every_answer_and_stores_all_or_none(store):
    assert store.mark_gold([(1, 2), (2, 0)], "file:gold.jsonl") == 2
    assert store.mark_gold([(1, 2)], "app:root") == 0  # the same answer again changes nothing
    assert store.gold_answers() == {1: 2, 2: 0}
    assert [(g.batch_id, g.best, g.source) for g in store.gold_batches()] == [(1, 2, "file:gold.jsonl"), (2, 0, "file:gold.jsonl")]
    for answers, message in [([(3, 1), (99, 0)], "unknown batch id 99"), ([(3, 1), (4, 4)], "best 4 is out of range"),
                             ([(3, 1), (3, 2)], "batch 3 is given two answers"), ([(3, 1), (1, 3)], "already gold with best 2")]:
        with pytest.raises(RLHFError, match=message):
            store.mark_gold(answers, "file:gold.jsonl")
        assert store.gold_answers() == {1: 2, 2: 0}  # batch 3 was not marked either
    assert store.mark_gold([(1, 3)], "app:root", replace=True) == 1 and store.gold_answers()[1] == 3
    assert store.unmark_gold(2) and not store.unmark_gold(2) and store.gold_answers() == {1: 3}


def test_gold_batches_are_never_ordinary_items_nor_waited_for(store):
    store.mark_gold([(1, 0), (2, 0)], "app:root")
    ann = store.add_labeler("ann", "password1")
    assert sorted(label_all(store, ann.id, gold_rate=0.0)) == list(range(3, 11))  # gold_rate 0: never handed out
    assert store.count_unlabeled_batches(0) == 0  # the loop does not wait for the unlabeled gold batches
    assert store.unseen_batch_ids() == []  # every ordinary batch has been handed out


def test_every_labeler_gets_every_gold_batch_whatever_labelers_per_batch(store):
    store.mark_gold([(1, 0), (5, 1), (9, 2)], "app:root")
    people = [store.add_labeler(name, "password1") for name in ("ann", "bob", "cy")]
    seen = {p.name: label_all(store, p.id, gold_rate=0.3, k=1, rng=random.Random(i)) for i, p in enumerate(people)}
    for batches in seen.values():
        assert {1, 5, 9} <= set(batches) and len(batches) == len(set(batches))
    ordinary = [b for batches in seen.values() for b in batches if b not in (1, 5, 9)]
    assert sorted(ordinary) == [2, 3, 4, 6, 7, 8, 10]  # each ordinary batch once (k = 1)


def test_gold_items_come_at_the_configured_rate(store_url):
    """Each new item is gold with probability gold_rate while ordinary ones are left: a binomial count.
    (labelers_per_batch 3: each of the three labelers has every ordinary batch to be given.)"""
    store = store_with(store_url, 400)
    store.mark_gold([(b, 0) for b in range(201, 401)], "app:root")  # 200 ordinary batches, 200 gold
    gold = set(store.gold_answers())
    for rate, seed in ((0.1, 1), (0.3, 2)):
        labeler = store.add_labeler(f"rate-{rate}", "password1")
        served = label_all(store, labeler.id, gold_rate=rate, k=3, rng=random.Random(seed), limit=150)
        hits = sum(b in gold for b in served)
        assert binomtest(hits, len(served), rate).pvalue > 0.01, (rate, hits)  # seeded: the same count every run
    labeler = store.add_labeler("no-gold", "password1")
    assert not gold & set(label_all(store, labeler.id, gold_rate=0.0, k=3, rng=random.Random(3), limit=150))


def test_progress_counts_gold_from_the_start_so_handing_one_out_changes_nothing(store):
    store.mark_gold([(2, 0), (4, 0), (6, 0)], "app:root")
    ann = store.add_labeler("ann", "password1")
    rng = random.Random(5)
    seen = []
    while True:
        before = store.progress(ann.id, gold_rate=0.5)
        item = store.next_assignment(ann.id, rng=rng, gold_rate=0.5)
        if item is None:
            break
        assert store.progress(ann.id, gold_rate=0.5).available == before.available == 10
        seen.append(item.batch_id)
        store.submit(ann.id, item.batch_id, choice=0, shown_order=item.shown_order)
    assert sorted(seen) == list(range(1, 11)) and store.progress(ann.id, gold_rate=0.5).done == 10
    assert store.progress(ann.id).available == 10  # without gold_rate, only what is done or ordinary


def test_a_gold_label_is_an_ordinary_label_scored_against_the_known_best(store):
    store.mark_gold([(1, 2), (2, 0), (3, 1)], "app:root")
    ann, bob = store.add_labeler("ann", "password1"), store.ensure_labeler("sim:sentiment")
    first = store.submit(ann.id, 1, choice=0, shown_order=[2, 0, 1, 3])
    store.correct(first, choice=2)  # the correction counts, not the first choice
    store.submit(ann.id, 2, choice=3, shown_order=[0, 1, 2, 3])
    store.submit(ann.id, 3, skipped=True, reason="equally good")  # a pass: not scored
    store.submit(ann.id, 4, choice=1)  # not gold
    store.submit(bob.id, 1, choice=2)
    assert store.gold_tallies() == {"ann": (1, 2), "sim:sentiment": (1, 1)}
    trained = {(r.labeler, r.batch_id): r.choice for r in store.training_labels()}
    assert trained[("ann", 1)] == 2 and trained[("ann", 2)] == 3 and trained[("sim:sentiment", 1)] == 2
    assert {r.batch_id for r in store.exported_labels()} == {1, 2, 3, 4}


def test_a_gold_item_reaches_the_page_as_any_item(store):
    """The Assignment carries nothing that tells gold apart: the same fields, a fresh random order."""
    store.mark_gold([(1, 0)], "app:root")
    ann = store.add_labeler("ann", "password1")
    gold_item = store.next_assignment(ann.id, rng=random.Random(0), gold_rate=0.999)
    store.submit(ann.id, gold_item.batch_id, choice=0, shown_order=gold_item.shown_order)
    ordinary = store.next_assignment(ann.id, rng=random.Random(0), gold_rate=0.999)
    assert gold_item.batch_id == 1 and ordinary.batch_id == 2
    assert vars(gold_item).keys() == vars(ordinary).keys() and sorted(gold_item.shown_order) == [0, 1, 2, 3]
    assert store.next_assignment(ann.id, gold_rate=0.999) == ordinary  # the open one again, gold or not


def test_new_gold_candidates_are_batches_nobody_was_handed(store):
    ann = store.add_labeler("ann", "password1")
    store.next_assignment(ann.id)  # batch 1, open
    store.mark_gold([(2, 0)], "app:root")
    assert store.unseen_batch_ids() == list(range(3, 11))
    assert store.row_counts()["gold batches"] == 1
