"""The dashboard's agreement section: observed against chance, Fleiss' kappa and Krippendorff's alpha
with 95% intervals, and the pairwise matrix, over human labelers unless the admin includes the
imported and simulated ones (a toggle, on by default with `labeling.count_machine_labelers`;
`rlhf.labeling.agreement` computes, once per reading of the store (`dashboard_figures`); this lays it out)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from labeling_app.dashboard_figures import Figures
from rlhf.labeling.agreement import Estimate
from rlhf.labeling.store import Labeler

_INCLUDE_ALL = "agreement_include_machines"


def render_agreement(figures: Figures, count_machines: bool = False) -> None:
    st.subheader("Agreement between labelers")
    machines = [labeler.name for labeler in figures.labelers if labeler.kind != "human"]
    include_all = bool(machines) and st.toggle("Include imported and simulated labelers", value=count_machines, key=_INCLUDE_ALL,
                                               help="Left out by default: " + ", ".join(machines) if machines else None)
    found = figures.agreement(include_all)
    result, scores = found.observed, found.corrected
    if not result.pairs:
        st.info("No batch has choices from two of these labelers yet. Set `labeling.labelers_per_batch` to 2 or more "
                "to measure agreement.")
        return
    cols = st.columns(4)
    cols[0].metric("Observed agreement", f"{result.rate:.0%}", help=f"chance: {result.chance:.0%}")
    cols[1].metric("Fleiss' κ", _value(scores.fleiss_kappa), help=_interval(scores.fleiss_kappa, f"{scores.raters} raters each"))
    cols[2].metric("Krippendorff's α", _value(scores.krippendorff_alpha), help=_interval(scores.krippendorff_alpha, "nominal"))
    cols[3].metric("Measured on", f"{result.batches} batches", help=f"{result.pairs} pairs of labelers' choices")
    st.caption(f"Observed: the share of pairs of labelers who chose the same continuation of a batch (chance "
               f"{result.chance:.0%}). κ and α correct it for chance: 0 is chance, 1 perfect agreement; "
               f"95% intervals by resampling batches. κ {_interval(scores.fleiss_kappa)}; α {_interval(scores.krippendorff_alpha)}.")
    _matrix(found.pairs, figures.labelers)


def _value(estimate: Estimate) -> str:
    return "n/a" if estimate.value is None else f"{estimate.value:.2f}"


def _interval(estimate: Estimate, note: str = "") -> str:
    suffix = f", {note}" if note else ""
    if estimate.low is None:
        return f"no interval ({estimate.items} batches{suffix})"
    return f"[{estimate.low:.2f}, {estimate.high:.2f}] on {estimate.items} batches{suffix}"


def _matrix(pairs: dict, labelers: list[Labeler]) -> None:
    names = {labeler.id: labeler.name for labeler in labelers}
    who = sorted({i for pair in pairs for i in pair}, key=lambda i: names.get(i, ""))
    if len(who) < 2:
        return
    share = pd.DataFrame(index=[names[i] for i in who], columns=[names[i] for i in who], dtype=float)
    for (a, b), (same, shared) in pairs.items():
        share.loc[names[a], names[b]] = share.loc[names[b], names[a]] = same / shared
    st.dataframe(share.style.background_gradient(cmap="RdYlGn", vmin=0.0, vmax=1.0, axis=None).format("{:.0%}", na_rep=""),
                 key="agreement_matrix")
    st.caption("Each cell: the share of the batches both labelers chose on where they chose alike. A labeler "
               "whose row is low against everyone may be clicking at random.")
