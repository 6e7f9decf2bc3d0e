"""The report's figures: one function per plot, each returning a `matplotlib.figure.Figure`.

Figures are built with `matplotlib.figure.Figure` and rendered by the Agg canvas directly, never
through pyplot: pyplot keeps global state and picks a GUI backend, which a headless training box
(or a test running beside other plotting code) must not depend on. Functions take plain data, so
they know nothing of run directories; `png` renders a figure for the report to embed and save.

Axes do not exaggerate: KL and β start at 0 (a KL estimate below 0 extends the axis, and the title
gives the range), win rates and shares span 0 to 1, and legends sit above the axes, off the lines.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Optional, Sequence

BASELINE_COLOR = "#8c959f"
PALETTE = ("#0969da", "#cf222e", "#1a7f37", "#8250df", "#bc4c00", "#1b7c83", "#bf3989", "#4d2d00")
DPI = 110


@dataclass
class WinBar:
    label: str  # e.g. "simulated:sentiment: policy" or "run-a · reward_model (proxy): policy"
    rate: float
    low: float
    high: float
    group: str  # bars of one group (a judge) share a colour


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _legend(ax, lines) -> None:
    """The legend above the axes' top right corner, in a row, outside the plotted area; titles sit top left."""
    if lines:
        ax.legend(lines, [line.get_label() for line in lines], loc="lower right", bbox_to_anchor=(1.0, 1.01),
                  ncols=min(3, len(lines)), fontsize=9, frameon=False, borderaxespad=0.0)


def system_colors(systems: Sequence[str], baseline: str) -> dict[str, str]:
    """The baseline in grey, other systems in a fixed order of colours, the same in every plot."""
    others = [s for s in systems if s != baseline]
    colors = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(others)}
    colors[baseline] = BASELINE_COLOR
    return colors


def win_rates(bars: Sequence[WinBar], baseline: str = "zero-shot"):
    """Horizontal bars of win rate against the baseline, 95% intervals as error bars, 50% dashed."""
    from matplotlib.ticker import PercentFormatter

    fig = _figure(8, 1.2 + 0.42 * len(bars))
    ax = fig.add_subplot()
    groups = list(dict.fromkeys(b.group for b in bars))
    colors = {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(groups)}
    ys = list(range(len(bars)))[::-1]  # first bar on top, as in the table
    ax.barh(ys, [b.rate for b in bars], color=[colors[b.group] for b in bars], alpha=0.8, height=0.6)
    errors = [[max(0.0, b.rate - b.low) for b in bars], [max(0.0, b.high - b.rate) for b in bars]]
    ax.errorbar([b.rate for b in bars], ys, xerr=errors, fmt="none", ecolor="#1f2328", capsize=4, lw=1.2)
    ax.axvline(0.5, color="#1f2328", ls="--", lw=1)
    ax.set_yticks(ys, [b.label for b in bars])
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(f"win rate against {baseline} (95% interval; dashed: no preference)")
    return fig


def _x_axis(log: Sequence[dict]) -> tuple[list[float], str]:
    for key, label in (("episode", "episodes"), ("step", "PPO update")):
        if all(key in row for row in log):
            return [row[key] for row in log], label
    return list(range(1, len(log) + 1)), "PPO update"


def _series(ax, xs, log, key: str, label: str, color: str, style: str = "-"):
    points = [(x, row[key]) for x, row in zip(xs, log) if row.get(key) is not None]
    if not points:
        return []
    return ax.plot(*zip(*points), style, color=color, label=label, lw=1.5)


def training(log: Sequence[dict], reward_label: str = "reward model (proxy), normalised"):
    """The reward PPO optimised (named `reward_label`), and the simulated labeler's score if logged, above KL
    and β, per PPO update; None without updates."""
    log = [row for row in log if "objective/scores" in row]  # the trainer also logs a final summary row
    if not log:
        return None
    xs, xlabel = _x_axis(log)
    fig = _figure(8, 6.4)
    top, bottom = fig.subplots(2, 1, sharex=True)
    lines = _series(top, xs, log, "objective/scores", reward_label, PALETTE[0])
    top.set_ylabel("training reward")
    if any("objective/labeler_score" in row for row in log):
        # The labeler's score has its own units, so it gets its own axis.
        twin = top.twinx()
        lines += _series(twin, xs, log, "objective/labeler_score", "simulated labeler", PALETTE[2], "--")
        twin.set_ylabel("labeler score")
    _legend(top, lines)
    top.set_title("Reward during training", loc="left")
    lines = _series(bottom, xs, log, "objective/kl", "KL(policy ‖ base)", PALETTE[1])
    bottom.set_ylabel("KL (nats)")
    title, low, high = "KL from the base model", *_from_zero(bottom, [row.get("objective/kl") for row in log])
    bottom.set_title(f"{title} (from {low:.3g} to {high:.3g} nats)" if low < 0 else title, loc="left")
    if any("objective/beta" in row for row in log):
        twin = bottom.twinx()
        lines += _series(twin, xs, log, "objective/beta", "β (KL coefficient)", PALETTE[3], "--")
        twin.set_ylabel("β")
        _from_zero(twin, [row.get("objective/beta") for row in log])
    _legend(bottom, lines)
    bottom.set_xlabel(xlabel)
    return fig


def _from_zero(ax, values) -> tuple[float, float]:
    """The y axis from 0 (lower only for a negative value) to a little above the largest value; (lowest, highest)."""
    values = [v for v in values if isinstance(v, (int, float))] or [0.0]
    low, high = min(values), max(values)
    top = high * 1.1 if high > 0 else 1.0  # room above a constant β, which would otherwise hide in the frame
    ax.set_ylim(min(0.0, low * 1.1), top)
    return low, high


def _bins(values: Sequence[float], most: int = 30):
    import numpy as np

    values = np.asarray(values, dtype=float)
    if values.min() == values.max():  # one value: a narrow bin around it, not numpy's unit range
        return np.linspace(values.min() - 0.5, values.max() + 0.5, 3)
    return np.histogram_bin_edges(values, bins=min(most, max(5, int(len(values) ** 0.5) * 2)))


def _histograms(ax, per_system: dict[str, list[float]], colors: dict[str, str]) -> None:
    everything = [v for values in per_system.values() for v in values]
    if not everything:
        return
    bins = _bins(everything)  # shared bins, so the bars of two systems compare
    filled = len(per_system) <= 2  # more than two filled histograms blend into mud; outlines stay legible
    for system, values in per_system.items():
        if values:
            ax.hist(values, bins=bins, histtype="stepfilled" if filled else "step", alpha=0.4 if filled else 0.9,
                    color=colors[system], edgecolor=colors[system], lw=1.5, label=f"{system} (n={len(values)})")
    ax.set_ylabel("samples")
    _legend(ax, ax.get_legend_handles_labels()[0])


def score_histograms(panels: dict[str, dict[str, list[float]]], baseline: str, x_labels: Optional[dict[str, str]] = None):
    """One panel per judge ({judge label: {system: per-sample scores}}), histograms of each system."""
    panels = {judge: per_system for judge, per_system in panels.items() if any(per_system.values())}
    if not panels:
        return None
    systems = list(dict.fromkeys(s for per_system in panels.values() for s in per_system))
    colors = system_colors(systems, baseline)
    fig = _figure(8, 0.5 + 3.2 * len(panels))
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    for ax, (judge, per_system) in zip(axes, panels.items()):
        _histograms(ax, per_system, colors)
        ax.set_title(f"Scores by {judge}", loc="left")
        ax.set_xlabel((x_labels or {}).get(judge, "score"))
    return fig


def lengths(per_system: dict[str, list[int]], baseline: str):
    """Histogram of words per sample, per system."""
    if not any(per_system.values()):
        return None
    fig = _figure(8, 3.6)
    ax = fig.add_subplot()
    _histograms(ax, per_system, system_colors(list(per_system), baseline))
    ax.set_xlabel("words per sample")
    ax.set_title("Response lengths", loc="left")
    return fig


SUMMARY_BARS = (("rougeL", "ROUGE-L"), ("novel_trigrams", "novel trigrams"), ("copied_sentences", "sentences copied"),
                ("copied_lead", "copied from the lead"))


def summaries(per_system: dict[str, dict], baseline: str):
    """One panel per statistic, a bar per system: ROUGE-L beside how much each system copies (section 4.2)."""
    shown = [(key, label) for key, label in SUMMARY_BARS
             if any(isinstance((stats or {}).get(key), (int, float)) for stats in per_system.values())]
    if not shown:
        return None
    systems = list(per_system)
    colors = system_colors(systems, baseline)
    fig = _figure(3.0 * len(shown), 0.9 + 0.32 * len(systems))
    for i, (key, label) in enumerate(shown):
        ax = fig.add_subplot(1, len(shown), i + 1)
        values = [(per_system[s] or {}).get(key) for s in systems]
        ys = list(range(len(systems)))[::-1]
        ax.barh(ys, [v if isinstance(v, (int, float)) else 0 for v in values], color=[colors[s] for s in systems], height=0.6)
        ax.set_yticks(ys, systems if i == 0 else [""] * len(systems))
        ax.set_xlim(0, 1)
        ax.set_title(label, fontsize=10)
    return fig
