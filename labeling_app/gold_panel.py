"""The dashboard's gold section: each labeler's accuracy on gold questions (batches with a known best)
with its 95% Wilson interval, their agreement with the majority of the others, a flag below
`labeling.gold_min_accuracy` (on at least `labeling.gold_min_items` gold answers), and the admin's form
to mark a batch gold with its best, or make it ordinary again. `rlhf.labeling.gold` computes; this
lays it out. Labelers never see this: their page shows a gold item like any other (`label_page.py`).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from labeling_app import auth, render
from labeling_app.context import RunContext
from labeling_app.dashboard_figures import Figures
from rlhf.errors import RLHFError
from rlhf.labeling.gold import GoldScore

_BATCH, _NOTICE = "gold_batch_id", "gold_notice"


def render_gold(run: RunContext, figures: Figures) -> None:
    st.subheader("Gold questions")
    labeling = run.config.labeling
    answers = run.store.gold_answers()  # as stored now: the form below shows and changes them
    scores = figures.gold
    cols = st.columns(3)
    cols[0].metric("Gold batches", len(answers))
    cols[1].metric("Served as", f"{labeling.gold_rate:.0%} of items", help="labeling.gold_rate: the share of the items handed "
                   "out that are gold, drawn at random per item; a labeler's gold batches left come last.")
    cols[2].metric("Gold answers", sum(row.answered for row in scores))
    if any(row.answered or row.majority_batches for row in scores):
        _table(scores, labeling.gold_min_accuracy, labeling.gold_min_items)
    elif not answers:
        st.info("No gold questions yet: mark batches below, or with `rlhf gold add` (a file) or `rlhf gold simulate` "
                "(a simulated labeler at temperature 0).")
    else:
        st.info("No labeler has answered a gold question yet. Set `labeling.gold_rate` (e.g. 0.1) to hand them out.")
    _mark_form(run, answers)


def _table(scores: list[GoldScore], min_accuracy: float, min_items: int) -> None:
    rows = [{"labeler": row.name, "gold answered": row.answered, "correct": row.correct, "gold accuracy": row.accuracy,
             "low": row.interval[0], "high": row.interval[1], "passed": row.passed,
             "agreement with majority": row.majority_agreement, "on batches": row.majority_batches,
             "below threshold": row.below(min_accuracy, min_items)} for row in scores]
    percent = st.column_config.NumberColumn(format="percent")
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="gold_accuracy", column_config={
        "gold accuracy": percent, "low": percent, "high": percent, "agreement with majority": percent})
    st.caption(f"Gold accuracy: the share of a labeler's choices on gold batches that were the known best; low and high "
               f"bound its 95% Wilson interval; passed: gold batches they skipped or flagged (not scored). Agreement with "
               f"majority: how often their choice was the most common one of the other labelers of a batch (two or more, "
               f"no tie). Below threshold: under {min_accuracy:.0%} on at least {min_items} gold answers "
               f"(labeling.gold_min_accuracy, labeling.gold_min_items).")
    flagged = [row.name for row in scores if row.below(min_accuracy, min_items)]
    if flagged:
        st.warning(f"{len(flagged)} labeler(s) below the gold threshold of {min_accuracy:.0%}. `reward.min_gold_accuracy` "
                   "leaves such labelers' labels out of reward training.", icon=":material/flag:")
        render.caption("Below the threshold: " + ", ".join(flagged))  # names are shown as typed, not as markdown


def _mark_form(run: RunContext, answers: dict[int, int]) -> None:
    with st.expander("Mark a batch as gold", expanded=st.session_state.get(_BATCH) is not None):
        if notice := st.session_state.pop(_NOTICE, None):
            (st.error if notice.startswith("Not stored") else st.success)(notice)
        batch_id = st.number_input("Batch id", min_value=1, step=1, value=None, key=_BATCH)
        if batch_id is None:
            st.caption("Type a batch id to see its samples and choose the best.")
            return
        batch = run.store.batch(int(batch_id))
        if batch is None:
            st.info(f"There is no batch {int(batch_id)}.")
            return
        st.html(_batch_html(run.store.query(batch.query_id).prompt, batch.samples))
        current = answers.get(batch.id)
        st.radio("Best sample", list(range(len(batch.samples))), format_func=lambda i: f"Sample {i + 1}",
                 index=current, horizontal=True, key=f"gold_best_{batch.id}")
        mark, unmark = st.columns(2)
        mark.button("Mark as gold" if current is None else "Change its best", key="gold_mark", on_click=_mark, args=(run, batch.id))
        if current is not None:
            st.caption(f"Gold now, best: sample {current + 1}.")
            unmark.button("Make it ordinary again", key="gold_unmark", on_click=_unmark, args=(run, batch.id))


def _batch_html(prompt: str, samples: list[str]) -> str:
    """The prompt and the samples in stored order, numbered as the radio counts them; model text escaped."""
    items = "".join(f'<li style="white-space:pre-wrap">{render.escape(sample)}</li>' for sample in samples)
    return (f'<div style="white-space:pre-wrap;opacity:0.7">{render.escape(prompt)}</div>'
            f'<ol style="margin-top:0.5em">{items}</ol>')


def _mark(run: RunContext, batch_id: int) -> None:
    admin = auth.current()
    best = st.session_state.get(f"gold_best_{batch_id}")
    if admin is None or not admin.is_admin:  # expired since the page was drawn: nothing is stored
        return
    if best is None:
        st.session_state[_NOTICE] = "Not stored: choose the best sample first."
        return
    try:
        run.store.mark_gold([(batch_id, best)], f"app:{admin.name}", replace=True)
    except RLHFError as error:
        st.session_state[_NOTICE] = f"Not stored: {error}"
        return
    st.session_state[_NOTICE] = f"Batch {batch_id} is gold, best: sample {best + 1}."


def _unmark(run: RunContext, batch_id: int) -> None:
    admin = auth.current()
    if admin is not None and admin.is_admin and run.store.unmark_gold(batch_id):
        st.session_state[_NOTICE] = f"Batch {batch_id} is an ordinary batch again; its labels stay."
