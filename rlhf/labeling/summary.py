"""Every figure about a store's labels at once, for the run report: who labeled how much, how well
labelers agree, position bias, time per label and accuracy on gold items.

`summarize` only gathers what `stats` and `agreement` compute (the dashboard shows the same
figures), over plain label rows and labelers, so the report renders values it did not compute.
Agreement counts people only unless `count_machines` (the config's
`labeling.count_machine_labelers`), as the dashboard does by default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

from rlhf.labeling import agreement as chance_corrected
from rlhf.labeling import stats
from rlhf.labeling.agreement import ChanceCorrected
from rlhf.labeling.stats import DEFAULT_CHOICES, Agreement, LabelerStats, PositionBias

ALL_LABELERS = "all labelers"


@dataclass
class LabelSummary:
    labelers: list[LabelerStats]  # by name, every labeler of the store
    kinds: dict[str, str]  # labeler name: human, simulated or imported
    counted: list[str]  # the labelers whose choices the agreement figures count
    agreement: Agreement  # observed against chance
    chance_corrected: Optional[ChanceCorrected]  # None without a batch two counted labelers chose on
    positions: dict[str, PositionBias]  # per labeler with choices, and ALL_LABELERS when several
    seconds: dict[float, float]  # seconds per label at quantiles; empty without timed labels
    timed: int  # labels with a recorded time
    # Labeler name: (correct, answered) on gold items, questions with a known answer. Empty while the
    # store holds no gold items: the report then says so instead of showing accuracy.
    gold: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(row.total for row in self.labelers)


def summarize(labels: Iterable, labelers: Sequence, num_choices: int = DEFAULT_CHOICES, count_machines: bool = False,
              resamples: int = 1000, seed: int = 0, gold: Optional[dict[str, tuple[int, int]]] = None) -> LabelSummary:
    """The summary of effective labels (`LabelStore.label_facts()`) by `labelers` (`LabelStore.labelers()`);
    `gold`: `LabelStore.gold_tallies()`, each labeler's (correct, answered) on gold batches."""
    labels = stats.latest_per_labeler(labels)
    names = {labeler.id: labeler.name for labeler in labelers}
    counted = {labeler.id for labeler in labelers if count_machines or labeler.kind == "human"}
    mine = [label for label in labels if label.labeler_id in counted]
    observed = stats.agreement(mine, num_choices)
    corrected = (chance_corrected.chance_corrected(mine, num_choices=num_choices, resamples=resamples, seed=seed)
                 if observed.pairs else None)
    return LabelSummary(
        labelers=stats.labeler_stats(labels, names, num_choices),
        kinds={labeler.name: labeler.kind for labeler in labelers},
        counted=sorted(names[i] for i in counted if i in names),
        agreement=observed, chance_corrected=corrected,
        positions=_positions(labels, names, num_choices),
        seconds=stats.seconds_quantiles(labels),
        timed=sum(1 for label in labels if label.seconds is not None),
        gold={name: counts for name, counts in (gold or {}).items() if counts[1]})


def _positions(labels: list, names: dict[int, str], num_choices: int) -> dict[str, PositionBias]:
    by_labeler: dict[str, list] = {}
    for label in labels:
        if stats.shown_position(label) is not None:
            by_labeler.setdefault(names.get(label.labeler_id, f"#{label.labeler_id}"), []).append(label)
    positions = {name: stats.position_bias(mine, num_choices) for name, mine in sorted(by_labeler.items())}
    if len(positions) > 1:
        positions[ALL_LABELERS] = stats.position_bias(labels, num_choices)
    return positions
