"""Fleiss' kappa and Krippendorff's alpha of every bootstrap resample at once, for `agreement.bootstrap`.

A bootstrap resample draws a table's n rows n times with replacement. Each statistic is a function of
sums over a table's rows of a few numbers per row, and a table's rows take few distinct values (how
many raters chose each sample of a batch), so a resample is all in how often it drew each distinct row:
those counts are multinomial, n draws with each distinct row's share of the table as its chance
(`resampled_counts`, one call of numpy's `multinomial` for all resamples), and the sums are one matrix
product for all resamples. The formulas are those of statsmodels' `fleiss_kappa` and the krippendorff
package's `alpha` (nominal), which compute the value itself (`agreement.fleiss_kappa`,
`agreement.krippendorff_alpha`); tests/labeling/test_resampling.py checks that both give the same
value for each resample, rebuilt as a table.

Why: at 97,000 rated batches (bench/label_scale.py, 300,000 labels) a call of each library per resample
took about a minute for the dashboard's 1000 resamples; drawing each resample's n row indices, about
two seconds; the multinomial counts, milliseconds.
"""

from __future__ import annotations

import numpy as np


def resampled_counts(table: np.ndarray, resamples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(distinct rows (P, categories), counts (resamples, P)): how often each resample drew each distinct row."""
    rows, frequency = np.unique(table, axis=0, return_counts=True)
    rng = np.random.default_rng(seed)
    return rows, rng.multinomial(len(table), frequency / len(table), size=resamples)


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
