"""Fleiss' kappa and Krippendorff's alpha against hand-computed values, Fleiss' own example and the
krippendorff package's example; the bootstrap interval; the pairwise matrix; who counts."""

import itertools
from types import SimpleNamespace

import numpy as np
import pytest

from rlhf.labeling.agreement import (
    category_counts,
    chance_corrected,
    choices_by_batch,
    fleiss_kappa,
    krippendorff_alpha,
    pairwise,
)

_ids = itertools.count(1)


def label(batch, labeler, choice, skipped=False):
    return SimpleNamespace(id=next(_ids), batch_id=batch, labeler_id=labeler, choice=choice, skipped=skipped,
                           flagged=False, shown_order=[0, 1, 2, 3])


# Two labelers, four batches: alike on 1, 2 and 4. By hand: observed agreement 3/4; the chosen samples
# are 0 three times, 1 three times and 2 twice of 8, so Fleiss' chance agreement is
# (3/8)^2 + (3/8)^2 + (2/8)^2 = 0.34375 and kappa = (0.75 - 0.34375) / (1 - 0.34375) = 0.6190476.
# Krippendorff's nominal alpha: 2 of 8 pairable values disagree (D_o = 0.25), D_e = (64 - 9 - 9 - 4) / 56
# = 0.75, so alpha = 1 - 0.25 / 0.75 = 2/3.
PAIRS = [(0, 0), (1, 1), (0, 1), (2, 2)]


def two_labelers():
    return [label(batch, who, choices[who]) for batch, choices in enumerate(PAIRS, 1) for who in (0, 1)]


def test_two_labelers_by_hand():
    table = category_counts(choices_by_batch(two_labelers()).values(), 4)
    assert table.tolist() == [[2, 0, 0, 0], [0, 2, 0, 0], [1, 1, 0, 0], [0, 0, 2, 0]]
    assert fleiss_kappa(table) == pytest.approx(0.40625 / 0.65625)
    assert krippendorff_alpha(table) == pytest.approx(2 / 3)


def test_fleiss_own_example():
    # Fleiss (1971) as reproduced in the literature: 10 subjects, 14 raters, 5 categories, kappa 0.210.
    table = np.array([[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
                      [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]])
    assert fleiss_kappa(table) == pytest.approx(0.20993, abs=1e-5)


def test_the_krippendorff_packages_example_with_missing_ratings():
    # Krippendorff's nominal example (3 coders, 15 units, gaps): alpha 0.691.
    nan = None
    rows = [[nan, nan, nan, nan, nan, 3, 4, 1, 2, 1, 1, 3, 3, nan, 3],
            [1, nan, 2, 1, 3, 3, 4, 3, nan, nan, nan, nan, nan, nan, nan],
            [nan, nan, 2, 1, 3, 4, 4, nan, 2, 1, 1, 3, 3, nan, 4]]
    labels = [label(unit, coder, value - 1) for coder, row in enumerate(rows) for unit, value in enumerate(row)
              if value is not None]
    result = chance_corrected(labels, resamples=0)
    assert result.krippendorff_alpha.value == pytest.approx(0.691, abs=5e-4)
    assert result.krippendorff_alpha.items == 12  # 15 units, less one with a single rating and two with none


def test_the_newest_label_counts_and_skips_do_not():
    labels = two_labelers() + [label(1, 1, 3), label(5, 0, 1), label(5, 1, None, skipped=True)]
    rated = choices_by_batch(labels)
    assert rated[1] == {0: 0, 1: 3} and 5 not in rated  # batch 1 corrected; batch 5 has one choice only


def test_fleiss_uses_the_batches_with_the_usual_number_of_raters_and_the_interval_holds_the_value():
    labels = two_labelers() + [label(9, 0, 1), label(9, 1, 1), label(9, 2, 0)]  # one batch with three raters
    result = chance_corrected(labels, resamples=500, seed=1)
    assert result.raters == 2 and result.fleiss_kappa.items == 4 and result.krippendorff_alpha.items == 5
    assert result.fleiss_kappa.value == pytest.approx(0.40625 / 0.65625)
    k = result.fleiss_kappa
    assert k.low < k.value < k.high and -1 <= k.low and k.high <= 1  # four items: a wide interval
    again = chance_corrected(labels, resamples=500, seed=1)
    assert (again.fleiss_kappa.low, again.fleiss_kappa.high) == (k.low, k.high)  # seeded


def test_perfect_agreement_on_one_sample_is_undefined_not_a_crash():
    result = chance_corrected([label(b, who, 2) for b in (1, 2) for who in (0, 1)], resamples=10)
    assert result.fleiss_kappa.value is None and result.krippendorff_alpha.value is None  # None, not NaN


def test_pairwise_matrix_and_who_is_counted():
    labels = two_labelers() + [label(1, 2, 0), label(2, 2, 0)]
    assert pairwise(labels) == {(0, 1): (3, 4), (0, 2): (1, 2), (1, 2): (1, 2)}
    assert pairwise(labels, include={0, 2}) == {(0, 2): (1, 2)}
    assert chance_corrected(labels, include={0, 1}, resamples=0).fleiss_kappa.value == pytest.approx(0.40625 / 0.65625)


def test_agreement_with_the_majority_of_the_others():
    from rlhf.labeling.agreement import majority_agreement

    labels = [label(1, who, choice) for who, choice in enumerate([0, 0, 0, 1])]  # three agree, one differs
    labels += [label(2, who, choice) for who, choice in enumerate([2, 2, 3])]  # 3 raters: 0 and 1 tie for 2, 2 differs
    labels += [label(3, 0, 1), label(3, 1, 1)]  # two raters: one other is no majority
    labels += [label(4, 0, 1), label(4, 1, 2), label(4, 2, None, skipped=True)]  # a skip does not vote
    # Batch 1: everyone's others have a majority (0). Batch 2: 0's others are 2 and 3 (a tie), as are 1's;
    # 2's others both chose 2.
    assert majority_agreement(labels) == {0: (1, 1), 1: (1, 1), 2: (1, 2), 3: (0, 1)}
    # Without labeler 2, batch 1 has 0, 0 and 1: the others of 0 (and of 1) tie; 3's others chose 0.
    assert majority_agreement(labels, include={0, 1, 3}) == {3: (0, 1)}


def _majority_by_definition(labels):
    """The others' majority of each label, counted the plain way (one Counter per label)."""
    from collections import Counter

    by_batch, counts = {}, {}
    for x in labels:
        if x.choice is not None and not x.skipped:
            by_batch.setdefault(x.batch_id, []).append(x)
    for chosen in by_batch.values():
        for x in chosen:
            others = Counter(o.choice for o in chosen if o is not x).most_common()
            if sum(n for _, n in others) < 2 or (len(others) > 1 and others[0][1] == others[1][1]):
                continue
            mine = counts.setdefault(x.labeler_id, [0, 0])
            mine[0] += x.choice == others[0][0]
            mine[1] += 1
    return {who: tuple(pair) for who, pair in counts.items()}


@pytest.mark.parametrize("seed", range(5))
def test_agreement_with_the_majority_is_its_definition_on_random_batches(seed):
    from rlhf.labeling.agreement import majority_agreement

    rng = np.random.default_rng(seed)
    labels = [label(batch, who, int(rng.integers(0, 4)) if rng.random() > 0.1 else None, skipped=False)
              for batch in range(300) for who in rng.choice(8, int(rng.integers(1, 7)), replace=False)]
    labels = [x for x in labels if x.choice is not None]
    assert majority_agreement(labels) == _majority_by_definition(labels)
