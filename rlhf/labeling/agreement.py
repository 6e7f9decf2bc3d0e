"""Chance-corrected agreement between labelers: Fleiss' kappa and Krippendorff's alpha (nominal), each
with a bootstrap interval, the pairwise agreement matrix, and each labeler's agreement with the majority of the others.

The items are batches and the categories the samples (a label's `choice`); a labeler's newest label
of a batch counts, skips and flags do not, and only batches chosen by two or more of the labelers
counted make an item. Fleiss' kappa (statsmodels) needs the same number of raters on every item: it
is computed on the batches with the most common number of raters (usually
`labeling.labelers_per_batch`), and says how many batches that is. Krippendorff's alpha (the
`krippendorff` package) takes any number of raters per item. The intervals resample batches with
replacement (percentile bootstrap, seeded). The observed-versus-chance share stays in `stats`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np

from rlhf.labeling import resampling
from rlhf.labeling.stats import DEFAULT_CHOICES, labels_by_batch, of_labelers, pairs_of


@dataclass
class Estimate:
    value: Optional[float]  # None where undefined (no items, or every rater always chose alike)
    low: Optional[float]  # 95% percentile bootstrap interval
    high: Optional[float]
    items: int  # batches it was computed on


@dataclass
class ChanceCorrected:
    fleiss_kappa: Estimate
    raters: int  # raters per batch of the batches Fleiss' kappa was computed on
    krippendorff_alpha: Estimate


def choices_by_batch(labels: Iterable, include: Optional[set[int]] = None) -> dict[int, dict[int, int]]:
    """{batch id: {labeler id: choice}} for batches chosen by 2+ of the labelers in `include` (all when None)."""
    by_batch = labels_by_batch(of_labelers(labels, include))
    return {batch: {label.labeler_id: label.choice for label in chosen} for batch, chosen in by_batch.items()
            if len(chosen) > 1}


def category_counts(rated: Iterable[dict[int, int]], num_choices: int) -> np.ndarray:
    """(items, categories): how many raters chose each sample of each batch."""
    rows = list(rated)
    categories = max([num_choices] + [choice + 1 for row in rows for choice in row.values()])
    table = np.zeros((len(rows), categories), dtype=np.int64)
    for i, row in enumerate(rows):
        for choice in row.values():
            table[i, choice] += 1
    return table


def fleiss_kappa(table: np.ndarray) -> Optional[float]:
    from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

    if len(table) == 0:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(statsmodels_fleiss(table, method="fleiss"))
    return value if np.isfinite(value) else None


def krippendorff_alpha(table: np.ndarray) -> Optional[float]:
    import krippendorff

    if len(table) == 0 or len(np.flatnonzero(table.sum(0))) < 2:
        return None  # one category only: no disagreement is possible, alpha is undefined
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(krippendorff.alpha(value_counts=table, level_of_measurement="nominal"))
    return value if np.isfinite(value) else None


def bootstrap(statistic, table: np.ndarray, resamples: int, seed: int, all_at_once=None) -> Estimate:
    """The statistic of `table` with the percentile interval of its values on `resamples` resamples of the
    rows (seeded). `all_at_once(rows, counts)`: the statistic of every resample from its counts of each
    distinct row (`resampling.py`), the same values far sooner; without it, one call per resample."""
    value = statistic(table)
    if value is None or resamples <= 0:
        return Estimate(value, None, None, len(table))
    if all_at_once is not None:
        draws = all_at_once(*resampling.resampled_counts(table, resamples, seed))
        draws = draws[np.isfinite(draws)]
    else:
        rng = np.random.default_rng(seed)
        draws = [statistic(table[rng.integers(0, len(table), len(table))]) for _ in range(resamples)]
        draws = [d for d in draws if d is not None]
    low, high = (float(x) for x in np.percentile(draws, [2.5, 97.5])) if len(draws) else (None, None)
    return Estimate(value, low, high, len(table))


def chance_corrected(labels: Iterable, include: Optional[set[int]] = None, num_choices: int = DEFAULT_CHOICES,
                     resamples: int = 1000, seed: int = 0) -> ChanceCorrected:
    """Fleiss' kappa and Krippendorff's alpha of the choices of the labelers in `include`."""
    rated = list(choices_by_batch(labels, include).values())
    raters = Counter(len(row) for row in rated).most_common(1)[0][0] if rated else 0
    fleiss_table = category_counts([row for row in rated if len(row) == raters], num_choices)
    alpha_table = category_counts(rated, num_choices)
    return ChanceCorrected(fleiss_kappa=bootstrap(fleiss_kappa, fleiss_table, resamples, seed, resampling.fleiss_kappas),
                           raters=raters, krippendorff_alpha=bootstrap(krippendorff_alpha, alpha_table, resamples, seed,
                                                                       resampling.krippendorff_alphas))


def pairwise(labels: Iterable, include: Optional[set[int]] = None) -> dict[tuple[int, int], tuple[int, int]]:
    """{(labeler a, labeler b) with a < b: (batches both chose alike, batches both chose)}."""
    counts: dict[tuple[int, int], list[int]] = {}
    for a, b, same, _ in pairs_of(of_labelers(labels, include), DEFAULT_CHOICES):
        pair = counts.setdefault((min(a, b), max(a, b)), [0, 0])
        pair[0] += same
        pair[1] += 1
    return {pair: (same, shared) for pair, (same, shared) in counts.items()}


def majority_agreement(labels: Iterable, include: Optional[set[int]] = None) -> dict[int, tuple[int, int]]:
    """{labeler: (choices equal to the others' majority, choices on batches where the others have one)}.

    The others' majority on a batch is their most common choice, when at least two others chose and one
    choice leads (a tie has none). Leaving the labeler out keeps their own choice from voting for itself.
    """
    counts: dict[int, list[int]] = {}
    for chosen in labels_by_batch(of_labelers(labels, include)).values():
        if len(chosen) < 3:
            continue  # fewer than two others
        tally = Counter(label.choice for label in chosen)
        for label in chosen:
            tally[label.choice] -= 1  # the others' choices: the batch's less this label's
            leader = _leader(tally)
            tally[label.choice] += 1
            if leader is not None:
                mine = counts.setdefault(label.labeler_id, [0, 0])
                mine[0] += label.choice == leader
                mine[1] += 1
    return {labeler: (agreed, shared) for labeler, (agreed, shared) in counts.items()}


def _leader(tally: Counter) -> Optional[int]:
    """The most common choice, or None on a tie for the most."""
    leader, lead, runner_up = None, 0, 0
    for choice, n in tally.items():
        if n > lead:
            leader, lead, runner_up = choice, n, lead
        elif n > runner_up:
            runner_up = n
    return leader if lead > runner_up else None
