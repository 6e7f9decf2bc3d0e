"""Statistics over stored labels: throughput per labeler, agreement between labelers, position bias.

Plain functions over the labels of `LabelStore.label_facts()` (anything with LabelRow's attributes), so the
labeling app's dashboard and the CLI report the same figures. A labeler's *effective* label of a
batch is their newest one: an accidental second label of the same batch does not count twice.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass
from itertools import combinations
from operator import attrgetter
from typing import Iterable, Optional

DEFAULT_CHOICES = 4  # the paper's best-of-4; used when a label does not record what was shown


@dataclass
class LabelerStats:
    labeler_id: int
    name: str
    chosen: int  # labels with a choice
    skipped: int
    flagged: int
    median_seconds: Optional[float]
    labels_per_hour: Optional[float]  # every label counts (a skip is work too), over the time measured
    agreement: Optional[float]  # share of their choices that match another labeler's on the same batch

    @property
    def total(self) -> int:
        return self.chosen + self.skipped + self.flagged


@dataclass
class PositionBias:
    counts: list[int]  # choices of each shown position, first to last
    p_value: Optional[float]  # chi-square test of equal shares; None without choices

    @property
    def total(self) -> int:
        return sum(self.counts)

    @property
    def shares(self) -> list[Optional[float]]:
        return [n / self.total if self.total else None for n in self.counts]

    @property
    def expected(self) -> float:
        """Each position's share without position bias (25% for four samples)."""
        return 1.0 / len(self.counts)


@dataclass
class Agreement:
    batches: int  # batches with choices from two or more labelers
    pairs: int  # pairs of labelers' choices on the same batch
    agreeing: int
    chance: float  # the rate of labelers choosing at random (0.25 for four samples)

    @property
    def rate(self) -> Optional[float]:
        return self.agreeing / self.pairs if self.pairs else None


def is_choice(label) -> bool:
    return label.choice is not None and not label.skipped and not label.flagged


_ID = attrgetter("id")


class Latest(list):
    """Labels already one per (batch, labeler), in id order: what `latest_per_labeler` returns, and given it
    again returns as it is. The dashboard passes one such list to every statistic (300,000 labels took
    a third of a second to sort and index each time). It keeps its `labels_by_batch` too, for the same
    reason: it is not changed after it is made."""


def latest_per_labeler(labels: Iterable) -> Latest:
    """One label per (batch, labeler): the newest (highest id)."""
    if isinstance(labels, Latest):
        return labels
    latest = {}
    for label in sorted(labels, key=_ID):
        latest[(label.batch_id, label.labeler_id)] = label
    return Latest(sorted(latest.values(), key=_ID))


def of_labelers(labels: Iterable, labeler_ids: Optional[set[int]]) -> list:
    """The labels of these labelers (all when None); one per (batch, labeler) stays so (`Latest`)."""
    if labeler_ids is None:
        return labels if isinstance(labels, Latest) else list(labels)
    kept = [label for label in labels if label.labeler_id in labeler_ids]
    if isinstance(labels, Latest):
        return labels if len(kept) == len(labels) else Latest(kept)  # all kept: the same list, and what it keeps
    return kept


def shown_position(label) -> Optional[int]:
    """Where the chosen sample was on screen (0-based), or None without a choice or a shown order."""
    if not is_choice(label) or not label.shown_order or label.choice not in label.shown_order:
        return None
    return list(label.shown_order).index(label.choice)


def position_counts(labels: Iterable, num_choices: int = DEFAULT_CHOICES) -> list[int]:
    """How often each shown position was chosen; equal counts mean no position bias."""
    positions = [p for p in map(shown_position, latest_per_labeler(labels)) if p is not None]
    counts = [0] * max([num_choices] + [p + 1 for p in positions])
    for p in positions:
        counts[p] += 1
    return counts


def position_bias(labels: Iterable, num_choices: int = DEFAULT_CHOICES) -> PositionBias:
    """Choices per shown position with the chance of counts this uneven (or more) if every position were equally likely."""
    from scipy.stats import chisquare

    counts = position_counts(labels, num_choices)
    p_value = float(chisquare(counts).pvalue) if sum(counts) else None
    return PositionBias(counts, p_value)


def labels_by_batch(labels: Iterable) -> dict[int, list]:
    """Each batch's effective choices: its labels with a choice, the newest of each labeler. Kept by a
    `Latest` list: callers read it, never change it."""
    latest = latest_per_labeler(labels)
    kept = latest.__dict__.get("_by_batch")
    if kept is not None:
        return kept
    by_batch: dict[int, list] = {}
    for label in latest:
        if is_choice(label):
            by_batch.setdefault(label.batch_id, []).append(label)
    latest._by_batch = by_batch
    return by_batch


def choice_pairs(by_batch: dict[int, list], num_choices: int):
    """(labeler a, labeler b, agree, chance) for each pair of choices made on the same batch."""
    for batch_labels in by_batch.values():
        for a, b in combinations(batch_labels, 2):
            k = len(a.shown_order) if a.shown_order else num_choices
            yield a.labeler_id, b.labeler_id, a.choice == b.choice, 1.0 / k


def pairs_of(labels: Iterable, num_choices: int = DEFAULT_CHOICES) -> list:
    """`choice_pairs` of these labels as a list, kept by a `Latest` list like its `labels_by_batch`."""
    latest = latest_per_labeler(labels)
    kept = latest.__dict__.setdefault("_pairs", {})
    if num_choices not in kept:
        kept[num_choices] = list(choice_pairs(labels_by_batch(latest), num_choices))
    return kept[num_choices]


def agreement(labels: Iterable, num_choices: int = DEFAULT_CHOICES) -> Agreement:
    """Observed pairwise agreement on batches chosen by 2+ labelers, beside the chance rate."""
    by_batch = labels_by_batch(labels)
    pairs = pairs_of(labels, num_choices)
    chance = math.fsum(c for *_, c in pairs) / len(pairs) if pairs else 1.0 / num_choices
    return Agreement(batches=sum(1 for shared in by_batch.values() if len(shared) > 1), pairs=len(pairs),
                     agreeing=sum(1 for _, _, same, _ in pairs if same), chance=chance)


def labels_per_hour(labels: Iterable) -> Optional[float]:
    timed = [label.seconds for label in labels if label.seconds is not None]
    total = sum(timed)
    return 3600.0 * len(timed) / total if total > 0 else None


def labeler_stats(labels: Iterable, names: dict[int, str], num_choices: int = DEFAULT_CHOICES) -> list[LabelerStats]:
    """One row per labeler with labels (and per named labeler without any), by name."""
    labels = latest_per_labeler(labels)
    agree: dict[int, list[bool]] = {}
    for a, b, same, _ in pairs_of(labels, num_choices):
        agree.setdefault(a, []).append(same)
        agree.setdefault(b, []).append(same)
    by_labeler = by_labeler_id(labels)
    rows = []
    for labeler_id in sorted(set(names) | set(by_labeler)):
        mine = by_labeler.get(labeler_id, [])
        seconds = [label.seconds for label in mine if label.seconds is not None]
        matches = agree.get(labeler_id)
        rows.append(LabelerStats(
            labeler_id=labeler_id,
            name=names.get(labeler_id, f"#{labeler_id}"),
            chosen=sum(1 for label in mine if is_choice(label)),
            skipped=sum(1 for label in mine if label.skipped and not label.flagged),
            flagged=sum(1 for label in mine if label.flagged),
            median_seconds=statistics.median(seconds) if seconds else None,
            labels_per_hour=labels_per_hour(mine),
            agreement=sum(matches) / len(matches) if matches else None,
        ))
    return sorted(rows, key=lambda row: row.name)


def by_labeler_id(labels: Iterable) -> dict[int, list]:
    """{labeler id: their labels, in the given order}."""
    grouped: dict[int, list] = {}
    for label in labels:
        grouped.setdefault(label.labeler_id, []).append(label)
    return grouped


def seconds_quantiles(labels: Iterable, quantiles=(0.25, 0.5, 0.75, 0.9)) -> dict[float, float]:
    """Seconds per label at the given quantiles (nearest rank); empty without timed labels."""
    seconds = sorted(label.seconds for label in labels if label.seconds is not None)
    if not seconds:
        return {}
    return {q: seconds[min(len(seconds), max(1, math.ceil(q * len(seconds)))) - 1] for q in quantiles}


def seconds_histogram(labels: Iterable, edges=(0, 5, 10, 20, 30, 60, 120)) -> list[tuple[str, int]]:
    """Counts of labels per time bin, labelled like '5-10 s'; the last bin is open ('120+ s')."""
    names = [f"{lo}-{hi} s" for lo, hi in zip(edges, edges[1:])] + [f"{edges[-1]}+ s"]
    counts = [0] * len(names)
    for label in labels:
        if label.seconds is not None:
            counts[sum(1 for edge in edges[1:] if label.seconds >= edge)] += 1
    return list(zip(names, counts))


def reason_counts(labels: Iterable) -> list[tuple[str, str, int]]:
    """(kind, reason, count) for skips and flags, most frequent first."""
    counter = Counter(("flag" if label.flagged else "skip", label.reason or "(no reason)")
                      for label in latest_per_labeler(labels) if label.skipped or label.flagged)
    return [(kind, reason, n) for (kind, reason), n in counter.most_common()]
