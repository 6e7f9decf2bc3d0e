"""All bootstrap resamples at once (rlhf/labeling/resampling.py): the same resamples as one library call each,
the same values, so the intervals are those the dashboard showed before."""

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


def one_at_a_time(statistic, rows: np.ndarray, resamples: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    return [statistic(rows[rng.integers(0, len(rows), len(rows))]) for _ in range(resamples)]


@pytest.mark.parametrize("items, seed", [(7, 0), (60, 1), (501, 2)])
def test_each_resample_has_the_value_the_libraries_give_it(items, seed):
    fleiss_table, alpha_table = table(seed, items, 3), table(seed, items, [2, 3, 3, 5])
    for statistic, all_at_once, rows in ((agreement.fleiss_kappa, resampling.fleiss_kappas, fleiss_table),
                                         (agreement.krippendorff_alpha, resampling.krippendorff_alphas, alpha_table)):
        expected = one_at_a_time(statistic, rows, 40, seed)
        got = all_at_once(*resampling.resampled_counts(rows, 40, seed))
        assert [None if not np.isfinite(v) else pytest.approx(v, rel=1e-9, abs=1e-12) for v in got] == expected


def test_undefined_resamples_are_left_out_as_before():
    # One batch where both raters chose sample 0, one where they split: resamples of the first alone are undefined.
    rows = np.array([[2, 0, 0, 0], [1, 1, 0, 0]])
    for statistic, all_at_once in ((agreement.fleiss_kappa, resampling.fleiss_kappas),
                                   (agreement.krippendorff_alpha, resampling.krippendorff_alphas)):
        expected = one_at_a_time(statistic, rows, 30, 5)
        got = all_at_once(*resampling.resampled_counts(rows, 30, 5))
        assert None in expected and [None if not np.isfinite(v) else pytest.approx(v) for v in got] == expected
        fast, slow = agreement.bootstrap(statistic, rows, 30, 5, all_at_once), agreement.bootstrap(statistic, rows, 30, 5)
        assert (fast.value, fast.items) == (slow.value, slow.items)
        assert (fast.low, fast.high) == (pytest.approx(slow.low), pytest.approx(slow.high))


def test_more_resamples_than_a_block_draw_the_same_numbers():
    rows = table(3, 40, 3)
    n = resampling.BLOCK * 2 + 7
    expected = one_at_a_time(agreement.fleiss_kappa, rows, n, 11)
    assert list(resampling.fleiss_kappas(*resampling.resampled_counts(rows, n, 11))) == pytest.approx(expected, rel=1e-9)
