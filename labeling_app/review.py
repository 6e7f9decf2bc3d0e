"""Stepping back on the labeling page: the items labeled in this session, newest first, each shown as
it was with the labeler's choice marked, and a new choice stored as a correction that supersedes the
old label (`LabelStore.correct`; the old row stays, the new one counts).

The labeling page records each label it stores (`record`); `U` (or the Previous button) opens the
newest, `U` again goes further back, a choice (click, or keys 1-4) changes it and returns to
labeling, and Escape (or the Back button) returns without a change. The history lives in the
browser session: a reload starts a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import streamlit as st

from labeling_app import auth, render
from labeling_app.choice_button import choice_button
from labeling_app.context import RunContext
from rlhf.errors import RLHFError
from rlhf.labeling.store import Assignment

_HISTORY, _AT, _NOTICE = "labeled_in_session", "reviewing_index", "review_notice"


@dataclass
class Done:
    """A label stored in this session: what was on screen and what the labeler did."""

    label_id: int
    assignment: Assignment
    choice: Optional[int]  # index in the stored order; None for a skip or a flag
    action: str  # "chose", "skipped" or "flagged"


def record(done: Done) -> None:
    st.session_state.setdefault(_HISTORY, []).append(done)


def history() -> list[Done]:
    return st.session_state.get(_HISTORY, [])


def reviewing() -> bool:
    return st.session_state.get(_AT) is not None


def notice() -> Optional[str]:
    return st.session_state.pop(_NOTICE, None)


def previous_button() -> None:
    """Opens the newest item labeled in this session (or the one before the item under review)."""
    st.button("↶ Previous", key="review_previous", shortcut="u", disabled=not _earlier_exists(),
              on_click=_step_back, help="See and change the items you labeled in this session")


def render_review(run: RunContext) -> None:
    at = st.session_state[_AT]
    done = history()[at]
    a = done.assignment
    what = {"chose": f"you chose continuation {a.shown_order.index(done.choice) + 1}" if done.choice is not None else "",
            "skipped": "you skipped it", "flagged": "you flagged its prompt"}[done.action]
    st.info(f"Item {at + 1} of the {len(history())} you labeled in this session: {what}. Press a number (or click) to "
            "choose again; Escape goes back to labeling unchanged.", icon=":material/history:")
    def best(position: int, **keys) -> None:
        mine = a.shown_order[position] == done.choice
        choice_button("Best ✓ your choice" if mine else "Best", width="stretch", type="primary" if mine else "secondary",
                      on_choose=_change, args=(run, at, a.shown_order[position]), **keys)

    render.show_options(a, best, highlight=render.highlighting())
    back, earlier = st.columns(2)
    with back:
        st.button("Back to labeling (Esc)", key="review_back", shortcut="escape", on_click=close, width="stretch")
    with earlier:
        previous_button()


def close() -> None:
    st.session_state[_AT] = None


def _earlier_exists() -> bool:
    at = st.session_state.get(_AT)
    return bool(history()) and (at is None or at > 0)


def _step_back() -> None:
    at = st.session_state.get(_AT)
    st.session_state[_AT] = len(history()) - 1 if at is None else max(0, at - 1)


def _change(run: RunContext, at: int, choice: int) -> None:
    """Store `choice` for the item under review as a correction of its label, then back to labeling."""
    done = history()[at]
    close()
    if auth.current(run.store) is None or (done.choice == choice and done.action == "chose"):
        return  # expired, or the same choice again: nothing to change
    try:
        new_id = run.store.correct(done.label_id, choice=choice, skipped=False, flagged=False, reason=None)
    except RLHFError as error:
        st.session_state[_NOTICE] = f"That change was not stored: {error}"
        return
    history()[at] = Done(new_id, done.assignment, choice, "chose")
    st.session_state[_NOTICE] = (f"Changed item {at + 1}: you now chose continuation "
                                 f"{done.assignment.shown_order.index(choice) + 1}.")
