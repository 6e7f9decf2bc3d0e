"""Fleiss' kappa and Krippendorff's alpha of every bootstrap resample at once, for `agreement.bootstrap`.

The resamples are the ones drawn one at a time before, seeded alike: resample r is `table[rng.integers(0, n, n)]`,
the r-th such draw of `numpy.random.default_rng(seed)`. Each statistic is a function of sums over a
table's rows of a few numbers per row, and a table's rows take few distinct values (how many raters
chose each sample of a batch), so each resample is counted per distinct row (`resampled_counts`) and
the sums are one matrix product for all resamples. The formulas are those of statsmodels'
`fleiss_kappa` and the krippendorff package's `alpha` (nominal), which compute the value itself
(`agreement.fleiss_kappa`, `agreement.krippendorff_alpha`); tests/labeling/test_resampling.py checks that
both give the same value for each resample.

Why: at 97,000 rated batches (bench/label_scale.py, 300,000 labels) a call of each library per resample
took about a minute for the dashboard's 1000 resamples.
"""

from __future__ import annotations

import numpy as np

BLOCK = 50  # resamples drawn at once: a (BLOCK, items) array of draws


def resampled_counts(table: np.ndarray, resamples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(distinct rows (P, categories), counts (resamples, P)): how often each resample drew each distinct row."""
    rows, inverse = np.unique(table, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    n, distinct = len(table), len(rows)
    rng = np.random.default_rng(seed)
    counts = np.empty((resamples, distinct), dtype=np.int64)
    for start in range(0, resamples, BLOCK):
        size = min(BLOCK, resamples - start)
        drawn = inverse[rng.integers(0, n, (size, n))]  # the same numbers as `size` calls of rng.integers(0, n, n)
        flat = (drawn + (np.arange(size) * distinct)[:, None]).reshape(-1)
        counts[start:start + size] = np.bincount(flat, minlength=size * distinct).reshape(size, distinct)
    return rows, counts


def fleiss_kappas(rows: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Fleiss' kappa of each resample (NaN where undefined); every row has the same number of raters."""
    rows = rows.astype(np.float64)
    raters = rows.sum(1).max()
    items = counts.sum(1)
    p_cat = counts @ rows / (items * raters)[:, None]
    p_rat = ((rows * rows).sum(1) - raters) / (raters * (raters - 1.0))
    p_mean = counts @ p_rat / items
    p_exp = (p_cat * p_cat).sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (p_mean - p_exp) / (1 - p_exp)


def krippendorff_alphas(rows: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Krippendorff's alpha (nominal) of each resample; NaN where undefined, or where fewer than two
    categories were chosen (`agreement.krippendorff_alpha` answers None there)."""
    rows = rows.astype(np.float64)
    distinct, v = rows.shape
    eye = np.eye(v)
    pairable = np.maximum(rows.sum(1), 2)
    coincidences = (rows[:, :, None] * rows[:, None, :] - rows[:, None, :] * eye) / (pairable - 1)[:, None, None]
    o = (counts @ coincidences.reshape(distinct, v * v)).reshape(-1, v, v)
    n_v = o.sum(1)
    e = (n_v[:, :, None] * n_v[:, None, :] - n_v[:, None, :] * eye) / (n_v.sum(1) - 1)[:, None, None]
    distance = 1 - eye
    with np.errstate(divide="ignore", invalid="ignore"):
        alphas = 1 - (o * distance).sum((1, 2)) / (e * distance).sum((1, 2))
    used = ((counts @ rows) > 0).sum(1)
    return np.where(used < 2, np.nan, alphas)
