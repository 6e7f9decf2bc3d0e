"""All bootstrap resamples at once (rlhf/labeling/resampling.py): each resample's value is the one the library
gives that resample rebuilt as a table, and the counts are those of drawing the rows with replacement."""

import numpy as np
import pytest

from rlhf.labeling import agreement, resampling


def table(seed: int, items: int, raters, categories: int = 4) -> np.ndarray:
    """Category counts of `items` batches; `raters` per batch (an int, or a list to draw from)."""
    rng = np.random.default_rng(seed)
    counts = [rng.choice(raters) if isinstance(raters, list) else raters for _ in range(items)]
    # Labelers who mostly agree on a batch's favourite, so the statistics are far from 0 and from each other.
    return np.array([np.bincount(np.where(rng.random(n) < 0.6, i % categories, rng.integers(0, categories, n)),
                                 minlength=categories) for i, n in enumerate(counts)])


def one_by_one(statistic, rows: np.ndarray, counts: np.ndarray) -> list:
    """The library's value of each resample, rebuilt as a table from its counts of each distinct row."""
    return [statistic(np.repeat(rows, drawn, axis=0)) for drawn in counts]


@pytest.mark.parametrize("items, seed", [(7, 0), (60, 1), (501, 2)])
def test_each_resample_has_the_value_the_libraries_give_it(items, seed):
    fleiss_table, alpha_table = table(seed, items, 3), table(seed, items, [2, 3, 3, 5])
    for statistic, all_at_once, whole in ((agreement.fleiss_kappa, resampling.fleiss_kappas, fleiss_table),
                                          (agreement.krippendorff_alpha, resampling.krippendorff_alphas, alpha_table)):
        rows, counts = resampling.resampled_counts(whole, 40, seed)
        got = all_at_once(rows, counts)
        assert [None if not np.isfinite(v) else pytest.approx(v, rel=1e-9, abs=1e-12) for v in got] == one_by_one(statistic, rows, counts)


def test_the_counts_are_those_of_drawing_the_rows_with_replacement():
    whole = table(4, 300, [2, 3, 3, 5])
    rows, counts = resampling.resampled_counts(whole, 4000, 7)
    assert len(np.unique(rows, axis=0)) == len(rows) and counts.shape == (4000, len(rows))
    assert (counts.sum(1) == len(whole)).all()  # n draws each
    share = np.array([(whole == row).all(1).mean() for row in rows])
    assert counts.mean(0) == pytest.approx(len(whole) * share, rel=0.02, abs=0.2)  # each row's expected draws
    # A bootstrap resample of n rows with replacement: a distinct row's draws vary as binomial(n, share).
    assert counts.var(0) == pytest.approx(len(whole) * share * (1 - share), rel=0.1, abs=0.2)
    again = resampling.resampled_counts(whole, 4000, 7)[1]
    assert (again == counts).all()  # seeded


def test_undefined_resamples_are_left_out_as_before():
    # One batch where both raters chose sample 0, one where they split: resamples of the first alone are undefined.
    rows = np.array([[2, 0, 0, 0], [1, 1, 0, 0]])
    for statistic, all_at_once in ((agreement.fleiss_kappa, resampling.fleiss_kappas),
                                   (agreement.krippendorff_alpha, resampling.krippendorff_alphas)):
        distinct, counts = resampling.resampled_counts(rows, 30, 5)
        expected = one_by_one(statistic, distinct, counts)
        got = all_at_once(distinct, counts)
        assert None in expected and [None if not np.isfinite(v) else pytest.approx(v) for v in got] == expected
        estimate = agreement.bootstrap(statistic, rows, 30, 5, all_at_once)
        defined = [v for v in expected if v is not None]
        assert estimate.value == statistic(rows) and estimate.items == 2
        assert (estimate.low, estimate.high) == (pytest.approx(np.percentile(defined, 2.5)), pytest.approx(np.percentile(defined, 97.5)))


def test_the_interval_is_the_one_of_resampling_row_by_row():
    whole = table(5, 200, 3)
    fast = agreement.bootstrap(agreement.fleiss_kappa, whole, 2000, 3, resampling.fleiss_kappas)
    slow = agreement.bootstrap(agreement.fleiss_kappa, whole, 2000, 3)  # one library call per resample of the rows
    assert fast.value == slow.value
    assert (fast.low, fast.high) == (pytest.approx(slow.low, abs=0.01), pytest.approx(slow.high, abs=0.01))
