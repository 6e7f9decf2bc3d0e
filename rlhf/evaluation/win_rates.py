"""Win rates against a baseline with 95% Wilson score intervals.

A tie counts as half a win, so a system no judge can tell from the baseline sits at 50%. The
Wilson interval is used because evaluations are small (tens of prompts) and win rates near 0 or 1
are common; the normal approximation would give intervals outside [0, 1] there.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

Z95 = 1.959963984540054


def wilson(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion `successes / n` (0, 1 when n is 0)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class WinRate:
    wins: int
    losses: int
    ties: int

    @property
    def n(self) -> int:
        return self.wins + self.losses + self.ties

    @property
    def win_rate(self) -> float:
        return (self.wins + 0.5 * self.ties) / self.n if self.n else float("nan")

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.wins + 0.5 * self.ties, self.n)

    def to_dict(self) -> dict:
        low, high = self.interval
        return {**asdict(self), "n": self.n, "win_rate": self.win_rate, "low": low, "high": high}

    def describe(self) -> str:
        low, high = self.interval
        return f"{self.win_rate:.1%} [{low:.1%}, {high:.1%}] ({self.wins} won, {self.ties} tied, {self.losses} lost)"


def tally(outcomes: Iterable[str]) -> WinRate:
    """Count 'win' / 'loss' / 'tie' outcomes (from the system's side)."""
    counts = {"win": 0, "loss": 0, "tie": 0}
    for outcome in outcomes:
        counts[outcome] += 1
    return WinRate(counts["win"], counts["loss"], counts["tie"])


def compare_means(system: Sequence[float], baseline: Sequence[float], tolerance: float = 1e-9) -> str:
    """One prompt's outcome: the mean judge score of the system's samples against the baseline's."""
    difference = sum(system) / len(system) - sum(baseline) / len(baseline)
    return "tie" if abs(difference) <= tolerance else ("win" if difference > 0 else "loss")


def prompt_win_rates(scores: list[dict[str, list[float]]], baseline: str) -> dict[str, WinRate]:
    """Per system, prompts won against the baseline, from each prompt's {system: sample scores}."""
    outcomes = defaultdict(list)
    for per_system in scores:
        for system, values in per_system.items():
            if system != baseline and values and per_system.get(baseline):
                outcomes[system].append(compare_means(values, per_system[baseline]))
    return {system: tally(results) for system, results in outcomes.items()}


def pairwise_outcome(a: str, b: str, winner: str, baseline: str) -> tuple[str, str]:
    """(system, outcome) of one judged pair in which one side is the baseline."""
    system = b if a == baseline else a
    if winner == "tie":
        return system, "tie"
    return system, "win" if (a if winner == "a" else b) == system else "loss"


def comparison_win_rates(comparisons, baseline: str) -> dict[str, WinRate]:
    """Per system, judged pairs (objects with a, b, winner) won against the baseline."""
    outcomes = defaultdict(list)
    for row in comparisons:
        if row.winner and baseline in (row.a, row.b) and row.a != row.b:
            system, outcome = pairwise_outcome(row.a, row.b, row.winner, baseline)
            outcomes[system].append(outcome)
    return {system: tally(results) for system, results in outcomes.items()}


def store_win_rates(url: str, baseline: str = "zero-shot") -> dict:
    """Per system, win rates from the pairs judged so far in the store at `url` ({} when none are)."""
    from rlhf.labeling.store import LabelStore

    return {name: rate.to_dict() for name, rate in comparison_win_rates(LabelStore(url).comparisons(), baseline).items()}
