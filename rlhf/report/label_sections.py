"""The report's sections on what people and simulated labelers did in the label store: the labels
(counts, agreement, position bias, time, gold accuracy) and the human evaluation of pairs.

The figures come computed (`rlhf.labeling.summary`, `rlhf.evaluation.human`); this lays them out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from rlhf.report.formats import interval, num, p_value, pct
from rlhf.report.render import Para, Section, Table

if TYPE_CHECKING:
    from rlhf.labeling.agreement import Estimate
    from rlhf.labeling.summary import LabelSummary
    from rlhf.report.runs import Run


def _sid(run: "Run", name: str) -> str:
    return f"{run.key}-{name}" if run.key else name


def human_section(run: "Run", level: int) -> Optional[Section]:
    """Pairs people judged on the Compare page, with win rates; None when nobody has judged one."""
    human = run.store.human if run.store else None
    if not human or not human.judged:
        return None
    still_open = (f"; {human.open} {'is' if human.open == 1 else 'are'} still open ({human.claimed} shown to someone, "
                  "not judged yet)") if human.open else ""
    blocks = [Para([f"People judged {human.judged} pairs on the labeling app's Compare page{still_open}. A pair sets "
                    f"one system's sample against {run.baseline}'s for the same held-out query, shown blind and on "
                    "random sides; a tie counts as half a win, intervals are 95% Wilson score intervals."])]
    rows = [[system, pct(rate.win_rate), interval(rate.to_dict()), str(rate.wins), str(rate.ties), str(rate.losses),
             str(rate.n)] for system, rate in human.win_rates.items()]
    if rows:
        blocks.append(Table(["system", "win rate", "95% interval", "won", "tied", "lost", "pairs"], rows))
    else:
        blocks.append(Para([f"None of the judged pairs has {run.baseline} on one side, so no win rate against it."]))
    blocks.append(Table(["judge", "pairs judged"], [[name, str(n)] for name, n in human.judges.items()]))
    return Section(_sid(run, "human-evaluation"), "Human evaluation", blocks, level)


def labels_section(run: "Run", level: int) -> list[Section]:
    """The labels section and its parts: labelers, agreement, position bias, time per label, gold items."""
    sid = _sid(run, "labels")
    if run.store_note:
        return [Section(sid, "Labels", [Para([run.store_note])], level)]
    if run.store is None or run.store.labels is None:
        where = "The label store holds no labels yet." if run.store else "This run has no label store."
        return [Section(sid, "Labels", [Para([where])], level)]
    summary = run.store.labels
    labelers = f"{len(summary.labelers)} labeler{'s' if len(summary.labelers) != 1 else ''}"
    intro = Para([f"{summary.total} labels of {run.store.batches} sample batches by {labelers} (every round in the "
                  "store; a labeler's newest label of a batch counts)."])
    table = Table(["labeler", "kind", "chosen", "skipped", "flagged", "median s per label", "labels per hour",
                   "agreement with others"],
                  [[r.name, summary.kinds.get(r.name, "?"), str(r.chosen), str(r.skipped), str(r.flagged),
                    num(r.median_seconds, 1), num(r.labels_per_hour, 0), pct(r.agreement)] for r in summary.labelers])
    sub = level + 1
    return [Section(sid, "Labels", [intro, table], level),
            Section(_sid(run, "agreement"), "Agreement between labelers", _agreement(summary), sub),
            Section(_sid(run, "position-bias"), "Position bias", _positions(summary), sub),
            Section(_sid(run, "label-time"), "Time per label", _times(summary), sub),
            Section(_sid(run, "gold"), "Gold items", _gold(summary), sub)]


def _estimate(estimate: "Estimate") -> list[str]:
    value = num(estimate.value, 2) if estimate.value is not None else "undefined"
    spread = f"[{num(estimate.low, 2)}, {num(estimate.high, 2)}]" if estimate.low is not None else "–"
    return [value, spread]


def _agreement(summary: "LabelSummary") -> list:
    counted = ", ".join(summary.counted)
    machines = [name for name, kind in summary.kinds.items() if kind != "human" and name not in summary.counted]
    left_out = (f" Imported and simulated labelers ({', '.join(machines)}) are left out "
                "(labeling.count_machine_labelers: false).") if machines else ""
    observed, corrected = summary.agreement, summary.chance_corrected
    if not observed.pairs or corrected is None:
        who = f"two of the labelers counted ({counted})" if counted else "two people"
        return [Para([f"No batch has choices from {who}, so agreement is not measured: set "
                      f"labeling.labelers_per_batch to 2 or more to measure it.{left_out}"])]
    kappa, alpha = corrected.fleiss_kappa, corrected.krippendorff_alpha
    rows = [["observed agreement", pct(observed.rate), "–",
             f"{observed.pairs} pairs of choices on {observed.batches} batches"],
            ["agreement by chance", pct(observed.chance), "–", "labelers choosing at random"],
            ["Fleiss' κ", *_estimate(kappa), f"{kappa.items} batches with {corrected.raters} labelers each"],
            ["Krippendorff's α (nominal)", *_estimate(alpha), f"{alpha.items} batches"]]
    return [Table(["measure", "value", "95% interval", "measured on"], rows),
            Para([f"Counted: {counted}.{left_out} Observed agreement is the share of pairs of labelers who chose the "
                  "same sample of a batch; κ and α correct it for chance (0: chance, 1: perfect agreement); "
                  "intervals resample batches (percentile bootstrap)."])]


def _positions(summary: "LabelSummary") -> list:
    if not summary.positions:
        return [Para(["No choice records the order its samples were shown in."])]
    k = max(len(bias.counts) for bias in summary.positions.values())
    rows = [[name, str(bias.total)]
            + [f"{pct(share)} ({n})" for share, n in zip(bias.shares, bias.counts)] + ["–"] * (k - len(bias.counts))
            + [p_value(bias.p_value)] for name, bias in summary.positions.items()]
    expected = 1.0 / k
    return [Table(["labeler", "choices"] + [f"position {i}" for i in range(1, k + 1)] + ["p (equal shares)"], rows),
            Para([f"Where the chosen sample was on screen. Without position bias each of the {k} positions gets about "
                  f"{pct(expected)} of the choices; p is the chi-square test of equal shares (a small p: the labeler "
                  "favours some positions)."])]


def _times(summary: "LabelSummary") -> list:
    if not summary.seconds:
        return [Para(["No label records how long it took: the app times people's labels; simulated and imported "
                      "labels have no time."])]
    within = ", ".join(f"{q:.0%} within {seconds:.1f} s" for q, seconds in summary.seconds.items())
    return [Para([f"Seconds per label over {summary.timed} timed labels: {within} (the median per labeler is in the "
                  "labelers' table)."])]


def _gold(summary: "LabelSummary") -> list:
    if not summary.gold:
        return [Para(["No gold items (questions with a known answer) in this store, so no labeler's accuracy is "
                      "measured against them."])]
    from rlhf.labeling.gold import wilson  # statsmodels: only when there are gold answers to bound

    rows = [[name, str(correct), str(answered), pct(correct / answered if answered else None),
             "[{}, {}]".format(*map(pct, wilson(correct, answered)))]
            for name, (correct, answered) in summary.gold.items()]
    return [Table(["labeler", "correct", "answered", "accuracy", "95% interval (Wilson)"], rows),
            Para(["Accuracy on gold batches, whose best continuation is known; a skip or a flag is not scored. The "
                  "dashboard flags labelers below `labeling.gold_min_accuracy`, and `reward.min_gold_accuracy` "
                  "leaves them out of reward training."])]
