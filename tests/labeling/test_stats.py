from types import SimpleNamespace

import pytest

from rlhf.labeling import stats as label_stats

_ids = iter(range(1, 10_000))


def label(batch, labeler, choice=None, shown=(0, 1, 2, 3), seconds=10.0, skipped=False, flagged=False, reason=None):
    return SimpleNamespace(id=next(_ids), batch_id=batch, labeler_id=labeler, choice=choice,
                           shown_order=list(shown) if shown is not None else None, seconds=seconds,
                           skipped=skipped, flagged=flagged, reason=reason)


def test_shown_position_is_where_the_chosen_sample_was_on_screen():
    assert label_stats.shown_position(label(1, 1, choice=2, shown=(3, 2, 0, 1))) == 1
    assert label_stats.shown_position(label(1, 1, choice=0, shown=(3, 2, 0, 1))) == 2
    assert label_stats.shown_position(label(1, 1, skipped=True)) is None
    assert label_stats.shown_position(label(1, 1, choice=1, shown=None)) is None


def test_position_counts_count_shown_positions_not_stored_indices():
    labels = [label(1, 1, choice=3, shown=(3, 0, 1, 2)),  # stored 3, shown first
              label(2, 1, choice=0, shown=(0, 1, 2, 3)),  # shown first
              label(3, 1, choice=0, shown=(1, 2, 3, 0)),  # shown last
              label(4, 1, skipped=True, reason="x")]
    assert label_stats.position_counts(labels) == [2, 0, 0, 1]
    assert label_stats.position_counts([]) == [0, 0, 0, 0]


def test_position_bias_tests_equal_shares():
    # Counts [3, 0, 0, 1] against 1 each: chi-square 4 + 1 + 1 + 0 = 6 on 3 degrees of freedom, p = 0.1116.
    labels = [label(1, 1, choice=0), label(2, 1, choice=1, shown=(1, 0, 2, 3)), label(3, 1, choice=2, shown=(2, 0, 1, 3)),
              label(4, 1, choice=3), label(5, 1, skipped=True)]
    bias = label_stats.position_bias(labels)
    assert bias.counts == [3, 0, 0, 1] and bias.total == 4 and bias.expected == 0.25
    assert bias.shares == [0.75, 0.0, 0.0, 0.25] and bias.p_value == pytest.approx(0.11161, abs=1e-5)
    even = label_stats.position_bias([label(i, 1, choice=i % 4) for i in range(8)])
    assert even.counts == [2, 2, 2, 2] and even.p_value == pytest.approx(1.0)
    empty = label_stats.position_bias([], num_choices=2)
    assert empty.counts == [0, 0] and empty.p_value is None and empty.shares == [None, None]


def test_agreement_is_pairwise_on_batches_with_two_or_more_choices():
    labels = [
        label(1, 1, choice=0), label(1, 2, choice=0), label(1, 3, choice=1),  # pairs: agree, no, no
        label(2, 1, choice=2), label(2, 2, choice=2),  # agree
        label(3, 1, choice=1),  # one labeler only: not measured
        label(4, 1, choice=1), label(4, 2, skipped=True),  # a skip is no choice: not measured
    ]
    result = label_stats.agreement(labels)
    assert (result.batches, result.pairs, result.agreeing) == (2, 4, 2)
    assert result.rate == pytest.approx(0.5) and result.chance == pytest.approx(0.25)


def test_agreement_uses_each_labelers_newest_label_and_the_number_shown():
    labels = [label(1, 1, choice=0, shown=(0, 1)), label(1, 2, choice=1, shown=(1, 0)),
              label(1, 2, choice=0, shown=(1, 0))]  # labeler 2 labeled batch 1 again: the newer counts
    result = label_stats.agreement(labels)
    assert (result.batches, result.pairs, result.agreeing) == (1, 1, 1)
    assert result.chance == pytest.approx(0.5)  # two samples shown


def test_agreement_without_shared_batches_has_no_rate():
    result = label_stats.agreement([label(1, 1, choice=0), label(2, 2, choice=0)])
    assert result.pairs == 0 and result.rate is None and result.chance == pytest.approx(0.25)


def test_labeler_stats_per_labeler():
    labels = [
        label(1, 1, choice=0, seconds=10), label(2, 1, choice=1, seconds=20), label(3, 1, skipped=True, seconds=30),
        label(1, 2, choice=0, seconds=4), label(2, 2, choice=2, seconds=None), label(4, 2, flagged=True, reason="bad", seconds=8),
    ]
    rows = {r.name: r for r in label_stats.labeler_stats(labels, {1: "ann", 2: "bob", 3: "cat"})}
    ann, bob, cat = rows["ann"], rows["bob"], rows["cat"]
    assert (ann.chosen, ann.skipped, ann.flagged, ann.total) == (2, 1, 0, 3)
    assert ann.median_seconds == 20 and ann.labels_per_hour == pytest.approx(3600 * 3 / 60)
    assert (bob.chosen, bob.skipped, bob.flagged) == (2, 0, 1)
    assert bob.median_seconds == 6 and bob.labels_per_hour == pytest.approx(3600 * 2 / 12)  # the untimed label is left out
    assert ann.agreement == pytest.approx(0.5) and bob.agreement == pytest.approx(0.5)  # batch 1 agrees, batch 2 not
    assert (cat.total, cat.median_seconds, cat.labels_per_hour, cat.agreement) == (0, None, None, None)


def test_labeler_stats_name_unknown_labelers_by_id():
    rows = label_stats.labeler_stats([label(1, 7, choice=0)], {})
    assert [r.name for r in rows] == ["#7"]


def test_seconds_quantiles_and_histogram():
    labels = [label(i, 1, choice=0, seconds=s) for i, s in enumerate([1, 2, 3, 4, 6, 12, 25, 40, 90, 200])]
    labels.append(label(99, 1, choice=0, seconds=None))
    q = label_stats.seconds_quantiles(labels)
    assert q[0.5] == 6 and q[0.25] == 3 and q[0.9] == 90
    assert label_stats.seconds_histogram(labels) == [("0-5 s", 4), ("5-10 s", 1), ("10-20 s", 1), ("20-30 s", 1),
                                                     ("30-60 s", 1), ("60-120 s", 1), ("120+ s", 1)]
    assert label_stats.seconds_quantiles([]) == {}


def test_reason_counts_split_skips_from_flags():
    labels = [label(1, 1, skipped=True, reason="equal"), label(2, 1, skipped=True, reason="equal"),
              label(3, 1, flagged=True, reason="offensive"), label(4, 2, skipped=True), label(5, 2, choice=1)]
    assert label_stats.reason_counts(labels) == [("skip", "equal", 2), ("flag", "offensive", 1), ("skip", "(no reason)", 1)]


def test_works_on_rows_from_the_store(tmp_path):
    from rlhf.labeling.store import LabelStore, sqlite_url

    store = LabelStore(sqlite_url(tmp_path / "labels.db"))
    store.add_queries([{"id": "q1", "task": "sentiment", "prompt": "p", "split": "train"}])
    batch = store.add_batch("q1", ["a", "b", "c", "d"], policy="base")
    ann, bob = store.add_labeler("ann", "pw-ann-123"), store.add_labeler("bob", "pw-bob-123")
    store.submit(ann.id, batch, choice=2, shown_order=[2, 0, 1, 3], seconds=5.0)
    store.submit(bob.id, batch, choice=2, shown_order=[3, 2, 1, 0], seconds=7.0)
    labels = store.labels()
    assert label_stats.position_counts(labels) == [1, 1, 0, 0]
    assert label_stats.agreement(labels).rate == 1.0
    assert [r.chosen for r in label_stats.labeler_stats(labels, {ann.id: "ann", bob.id: "bob"})] == [1, 1]
