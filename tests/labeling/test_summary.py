"""`summarize`: every label statistic of a store at once, with people-only agreement unless machines count."""

from types import SimpleNamespace

import pytest

from rlhf.labeling.store import Labeler
from rlhf.labeling.summary import ALL_LABELERS, summarize

_ids = iter(range(1, 10_000))
LABELERS = [Labeler(1, "ann", "labeler"), Labeler(2, "bob", "labeler"), Labeler(3, "sim:sentiment", "labeler", signs_in=False),
            Labeler(4, "idle", "labeler")]


def label(batch, labeler, choice, seconds=None, shown=(0, 1, 2, 3)):
    return SimpleNamespace(id=next(_ids), batch_id=batch, labeler_id=labeler, choice=choice, shown_order=list(shown),
                           seconds=seconds, skipped=False, flagged=False, reason=None)


def labels():
    # ann and bob agree on batch 1 and differ on batch 2; sim agrees with ann on both.
    return [label(1, 1, 0, 5.0), label(1, 2, 0, 9.0), label(2, 1, 1, 7.0), label(2, 2, 2), label(1, 3, 0), label(2, 3, 1)]


def test_people_only_unless_machines_count():
    people = summarize(labels(), LABELERS, resamples=0)
    assert people.counted == ["ann", "bob", "idle"]
    assert (people.agreement.pairs, people.agreement.agreeing) == (2, 1)
    everyone = summarize(labels(), LABELERS, count_machines=True, resamples=0)
    assert everyone.counted == ["ann", "bob", "idle", "sim:sentiment"]
    assert (everyone.agreement.pairs, everyone.agreement.agreeing) == (6, 4)
    # Fleiss over 2 batches of 3 raters, counts [3, 0, 0] and [0, 2, 1]: P = (1 + 1/3) / 2 = 2/3, chance
    # (3² + 2² + 1²) / 6² = 7/18, kappa (2/3 - 7/18) / (1 - 7/18) = 5/11.
    kappa = everyone.chance_corrected.fleiss_kappa
    assert everyone.chance_corrected.raters == 3 and kappa.items == 2 and kappa.value == pytest.approx(5 / 11)
    assert people.chance_corrected.krippendorff_alpha.low is None  # no resamples: no interval


def test_the_summary_gathers_labelers_positions_and_times():
    summary = summarize(labels(), LABELERS, resamples=0)
    assert [row.name for row in summary.labelers] == ["ann", "bob", "idle", "sim:sentiment"]
    assert summary.kinds == {"ann": "human", "bob": "human", "sim:sentiment": "simulated", "idle": "human"}
    assert summary.total == 6 and summary.timed == 3 and summary.seconds[0.5] == 7.0
    assert list(summary.positions) == ["ann", "bob", "sim:sentiment", ALL_LABELERS]
    assert summary.positions[ALL_LABELERS].counts == [3, 2, 1, 0] and summary.gold == {}


def test_without_shared_batches_there_is_no_chance_corrected_agreement():
    summary = summarize([label(1, 1, 0), label(2, 2, 1)], LABELERS)
    assert summary.agreement.pairs == 0 and summary.chance_corrected is None
    assert list(summary.positions) == ["ann", "bob", ALL_LABELERS]


def test_one_labeler_has_no_all_labelers_row():
    summary = summarize([label(1, 3, 2)], LABELERS)
    assert list(summary.positions) == ["sim:sentiment"]
    assert summary.positions["sim:sentiment"].counts == [0, 0, 1, 0]
    assert summary.positions["sim:sentiment"].p_value == pytest.approx(0.3916, abs=1e-4)  # chi-square 3 on 3 df
