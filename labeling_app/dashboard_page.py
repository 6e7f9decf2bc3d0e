"""The admins' dashboard: progress per labeler, agreement, gold questions, position bias, time per label, evaluation,
export, and the team (labelers, passwords, roles, and the record of admin actions).

The figures come from `rlhf.labeling.stats` (the CLI reports the same ones), read and kept between renders by
`dashboard_figures` (a large store's are computed in the background after a change, and the page says which labels
they count; while a large store's first figures are computed, the page draws the rest and polls for them), the
human win rates from `rlhf.evaluation.win_rates` and the runs' evaluation summaries from
`rlhf.evaluation.dashboard_rows`; this page only lays them out.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from labeling_app import auth, dashboard_figures, render
from labeling_app.agreement_panel import render_agreement
from labeling_app.context import RunContext, run_context
from labeling_app.dashboard_figures import Figures
from labeling_app.gold_panel import render_gold
from labeling_app.team_panel import render_team
from rlhf.errors import RLHFError
from rlhf.evaluation.dashboard_rows import comparison_rows, eval_summaries
from rlhf.evaluation.win_rates import comparison_win_rates

BASELINE = "zero-shot"
POLL_SECONDS = 1.0  # how often a page without figures asks whether they are ready


def render_page() -> None:
    run = run_context()
    admin = auth.require_admin(run.store)  # app.py hides the page from labelers' menus; the guard is here
    count_machines = run.config.labeling.count_machine_labelers
    figures, note = dashboard_figures.figures(run.store, run.config.labeling.samples_per_query)
    st.title("Dashboard")
    if note:
        st.info(note, icon=":material/schedule:")
    if figures is None:
        _await_figures(run.store.url)
    else:
        _overview(run, figures)
        _labelers(figures)
        render_agreement(figures, count_machines)
        render_gold(run, figures)
        _positions(figures)
        _times(figures)
        _reasons(figures)
    _evaluation(run)
    _runs(run)
    _export(run)
    render_team(run.store, admin)


@st.fragment(run_every=POLL_SECONDS)
def _await_figures(store_url: str) -> None:
    """Polls while the figures are computed in the background; draws the whole page again once they are."""
    if dashboard_figures.ready(store_url):
        st.rerun()
    st.caption("Labelers, agreement, gold questions, positions and times follow here.")


def _overview(run: RunContext, figures: Figures) -> None:
    chosen, skipped, flagged = figures.overview
    cols = st.columns(4)
    cols[0].metric("Sample batches", run.store.count_batches())
    cols[1].metric("Choices", chosen)
    cols[2].metric("Skipped", skipped)
    cols[3].metric("Flagged prompts", flagged)


def _labelers(figures: Figures) -> None:
    st.subheader("Labelers")
    rows = [{"labeler": r.name, "chosen": r.chosen, "skipped": r.skipped, "flagged": r.flagged,
             "median s/label": r.median_seconds, "labels/hour": r.labels_per_hour,
             "agreement with others": r.agreement}
            for r in figures.labeler_rows]
    if not rows:
        st.info("No labelers yet: add them under Team, below, or with `rlhf labelers add`.")
        return
    st.dataframe(pd.DataFrame(rows), hide_index=True, column_config={
        "median s/label": st.column_config.NumberColumn(format="%.1f"),
        "labels/hour": st.column_config.NumberColumn(format="%.0f"),
        "agreement with others": st.column_config.NumberColumn(format="percent"),
    })


def _positions(figures: Figures) -> None:
    st.subheader("Choices by position on screen")
    counts = figures.positions
    total = sum(counts)
    if not total:
        st.info("No choices yet.")
        return
    table = pd.DataFrame({"position": [str(p + 1) for p in range(len(counts))], "choices": counts,
                          "share": [n / total for n in counts]})
    st.bar_chart(table, x="position", y="choices", height=220)
    st.caption(f"Without position bias each position gets about {1 / len(counts):.0%} of the {total} choices: "
               + ", ".join(f"position {p + 1}: {n / total:.0%}" for p, n in enumerate(counts)) + ".")


def _times(figures: Figures) -> None:
    st.subheader("Time per label")
    quantiles, histogram = figures.seconds
    if not quantiles:
        st.info("No timed labels yet.")
        return
    cols = st.columns(len(quantiles))
    for col, (q, seconds) in zip(cols, quantiles.items()):
        col.metric(f"{q:.0%} of labels within", f"{seconds:.1f} s")
    histogram = pd.DataFrame(histogram, columns=["seconds", "labels"])
    st.bar_chart(histogram, x="seconds", y="labels", sort=False, height=220)


def _reasons(figures: Figures) -> None:
    reasons = figures.reasons
    if reasons:
        st.subheader("Skips and flags")
        st.dataframe(pd.DataFrame(reasons, columns=["kind", "reason", "count"]), hide_index=True)


def _evaluation(run: RunContext) -> None:
    """Human win rates per system against the baseline, from the comparisons judged on the Compare page."""
    st.subheader("Evaluation")
    people = {labeler.name for labeler in run.store.labelers() if labeler.kind != "simulated"}
    comparisons = run.store.comparisons()
    judged = [c for c in comparisons if c.winner is not None and c.judge in people]
    open_rows = [c for c in comparisons if c.winner is None]
    cols = st.columns(3)
    cols[0].metric("Judged by people", len(judged))
    cols[1].metric("Open", len(open_rows))
    cols[2].metric("Claimed, not judged yet", sum(1 for c in open_rows if c.judge is not None),
                   help="Open comparisons shown to a labeler who has not judged them yet.")
    rates = comparison_win_rates(judged, BASELINE)
    if not rates:
        st.info(f"No comparison against {BASELINE} judged by people yet. Labelers judge them on the Compare page.")
        return
    rows = [{"system": system, "win rate": rate.win_rate, "low": rate.interval[0], "high": rate.interval[1],
             "won": rate.wins, "tied": rate.ties, "lost": rate.losses, "judged": rate.n}
            for system, rate in sorted(rates.items())]
    percent = st.column_config.NumberColumn(format="percent")
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="human_win_rates",
                 column_config={"win rate": percent, "low": percent, "high": percent})
    st.caption(f"Human win rates against {BASELINE}: a tie counts as half a win; low and high bound the 95% "
               "Wilson interval.")


def _runs(run: RunContext) -> None:
    """The evaluations of this run and the runs beside it (same output_dir), side by side."""
    st.subheader("Runs")
    output_dir = run.config.run_dir.parent
    notes: list[str] = []
    rows = comparison_rows(eval_summaries(output_dir, notes))
    if rows:
        for row in rows:
            row["this run"] = row["run"] == run.config.name
        st.dataframe(pd.DataFrame(rows), hide_index=True, key="run_win_rates")
        st.caption("Per judge, each system's win rate against the run's baseline, with its 95% interval and the "
                   "number of prompts (from each run's `eval/metrics.json`).")
    else:
        st.info(f"No run in `{output_dir}` has been evaluated yet (no `eval/metrics.json`).")
    for note in notes:
        render.caption(note)  # paths and parser messages: shown as typed, not as markdown


def _export(run: RunContext) -> None:
    st.subheader("Export")
    out_dir = run.config.layout.exports
    st.caption(f"Writes the labels (best-of-4 and pairwise) to `{out_dir}`.")
    if st.button("Export labels", key="export"):
        try:
            from rlhf.labeling.export import export_labels  # imported here: the app runs without it
        except ImportError:
            st.error("Export is not available: this installation has no `rlhf.labeling.export`.")
            return
        try:
            written = export_labels(run.store, out_dir)
        except (RLHFError, OSError) as error:
            st.error(f"Export failed: {error}")
            return
        st.success("Exported: " + ", ".join(f"{name} → `{path}`" for name, path in written.items()))
