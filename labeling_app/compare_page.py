"""The Compare page: human pairwise evaluation. Two texts for one prompt side by side; which is better?

The rows come from the store's comparisons (`rlhf.labeling.store`: `next_comparison` claims one for
this labeler, `judge_comparison` records a, b or tie). Which system wrote which text never reaches
the page: the two texts are shown as Left and Right, in an order drawn per comparison from a hash
of its id and query (so a rerun or a reload shows the same order, and nothing about the order is
stored); a click on Left or Right is mapped back to a or b on the server. Model text goes through
`render` (escaped, never markdown or HTML).

As on the labeling page, the buttons keep the same keys for every comparison (so the keyboard
shortcuts 1, 2 and 3 always reach the buttons on screen), and a click less than `labeling.min_seconds`
after a comparison appeared is dropped as the second click of a double click. A click the restarted
server has no callback for still counts once (`choice_button`).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Optional

import streamlit as st

from labeling_app import auth, context, render
from labeling_app.choice_button import choice_button
from labeling_app.context import RunContext, run_context
from rlhf.errors import RLHFError
from rlhf.labeling.store import ComparisonProgress, Labeler

# A prompt longer than this (a document to summarise) scrolls in a box of its own, and the page makes
# room for it, so that both texts and the buttons stay on a 1280x800 screen.
LONG_PROMPT_CHARS = 600
# (button label, widget key, keyboard shortcut) per choice; the keys say left / right, never a / b.
CHOICES = {"left": ("Left is better (1)", "compare_left", "1"), "right": ("Right is better (2)", "compare_right", "2"),
           "tie": ("Tie (3)", "compare_tie", "3")}
_PAIR, _NOTICE, _JUDGED = "compare_pair", "compare_notice", "compared_this_session"


def left_is_a(comparison_id: int, query_id: str) -> bool:
    """Whether text a is shown on the left: a fair coin per comparison, the same on every rerun."""
    return hashlib.sha256(f"rlhf-compare:{comparison_id}:{query_id}".encode()).digest()[0] % 2 == 0


def winner(side: str, a_on_left: bool) -> str:
    """The stored winner (a, b or tie) for a click on `side` (left, right or tie)."""
    if side == "tie":
        return "tie"
    if side not in ("left", "right"):
        raise ValueError(f"side is left, right or tie, not {side!r}")
    return "a" if (side == "left") == a_on_left else "b"


@dataclass
class Pair:
    """A comparison on screen, as the labeler sees it. Which side is a stays on the server."""

    labeler_name: str
    comparison_id: int
    prompt: str
    left: str
    right: str
    a_on_left: bool
    shown_at: float = field(default_factory=time.monotonic)


def render_page() -> None:
    run = run_context()
    labeler = auth.require_signed_in()
    pair = _current_pair(run, labeler)
    long_prompt = pair is not None and len(pair.prompt) > LONG_PROMPT_CHARS
    if long_prompt:
        render.compact_page()
    _progress(run.store.comparison_progress(labeler.name))
    _instructions(run, collapsed=long_prompt)
    if notice := st.session_state.pop(_NOTICE, None):
        st.warning(notice)
    if pair is None:
        _all_done()
        return
    if len(pair.prompt) > render.TAIL_CHARS:  # each side shows only the prompt's end
        st.html(render.comparison_prompt_html(pair.prompt, pair.comparison_id))
    _sides(run, pair)


def _current_pair(run: RunContext, labeler: Labeler) -> Optional[Pair]:
    """The comparison on screen, else the labeler's next one (their claim, or a newly claimed row).

    A claim made before this session (a reload, a server restart) has been on screen since then: the
    reading time counts from the store's `claimed_at`.
    """
    pair = st.session_state.get(_PAIR)
    if pair is None or pair.labeler_name != labeler.name:
        row = run.store.next_comparison(labeler.name)
        pair = None
        if row is not None:
            query = run.store.query(row.query_id)
            a_on_left = left_is_a(row.id, row.query_id)
            left, right = (row.a_text, row.b_text) if a_on_left else (row.b_text, row.a_text)
            pair = Pair(labeler.name, row.id, query.prompt if query else "", left, right, a_on_left,
                        shown_at=context.shown_at(row.claimed_at))
        st.session_state[_PAIR] = pair
    return pair


def _progress(progress: ComparisonProgress) -> None:
    total = progress.done + progress.remaining
    st.progress(progress.done / total if total else 1.0, text=f"**{progress.done} / {total}** compared")


def _instructions(run: RunContext, collapsed: bool = False) -> None:
    task = run.config.task
    # The task's one-line description is the criterion; its instructions are written for the best-of-4 page.
    criterion = task.description.strip() or task.instructions.strip()
    # Open until the first judgement, unless a long document needs the room (one click opens them).
    with st.expander(f"Instructions: {task.name}", expanded=not (collapsed or st.session_state.get(_JUDGED))):
        st.markdown("Two texts continue the same prompt. Which one is better? If you cannot tell them apart, "
                    "choose Tie.")
        if criterion:
            st.markdown(f"The task: {criterion}")  # written by the experimenter in the run config, not by the model
        st.caption("Click a button, or press 1 (left is better), 2 (right is better) or 3 (tie) on the keyboard.")


def _sides(run: RunContext, pair: Pair) -> None:
    columns = st.columns(2)
    for column, side, text in ((columns[0], "left", pair.left), (columns[1], "right", pair.right)):
        with column.container(border=True):
            st.html(render.comparison_text_html(pair.prompt, text, side, pair.comparison_id,
                                                last_line_only=len(pair.prompt) > LONG_PROMPT_CHARS))
            _button(run, pair, side, width="stretch")
    with st.container(horizontal_alignment="center"):
        _button(run, pair, "tie")


def _button(run: RunContext, pair: Pair, side: str, width: str = "content") -> None:
    label, key, shortcut = CHOICES[side]
    choice_button(label, key=key, shortcut=shortcut, width=width, on_choose=_choose, args=(run, pair, side))


def _choose(run: RunContext, pair: Pair, side: str) -> None:
    """Store the judgement of `pair` (the comparison the button was drawn for) and move on."""
    if time.monotonic() - pair.shown_at < context.min_reading_seconds(run) or auth.current(run.store) is None:  # a bounce, expired or deactivated
        return
    try:
        run.store.judge_comparison(pair.comparison_id, pair.labeler_name, winner(side, pair.a_on_left))
    except RLHFError as error:
        st.session_state[_NOTICE] = f"That judgement was not stored: {error}"
    # A second click on the same comparison must not discard the next one, already on screen.
    if st.session_state.get(_PAIR) is pair:
        del st.session_state[_PAIR]
    st.session_state[_JUDGED] = True


def _all_done() -> None:
    st.success("Nothing left to compare, thank you! Every comparison is judged or held by another labeler.",
               icon=":material/task_alt:")
    st.caption("New comparisons appear here when an evaluation adds them to the run.")
    st.button("Check for new comparisons", key="compare_refresh")  # a rerun is all it takes
