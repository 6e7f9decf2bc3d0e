"""The labeling page: a prompt and its continuations; the labeler picks the best (click, or keys 1-4).

Each choice is stored by a button callback, which runs before the page is drawn again, so one
script run both stores the label and shows the next item. The item on screen (its assignment, a
token and the time it was first shown) lives in the session and is bound to the buttons drawn for
it; the token makes a repeated request store one label, and the time is measured on the server.

The choice buttons keep one key per position for every item. Keyed per item, Streamlit's frontend
sometimes left the keyboard shortcut bound to the previous item's button, and the key press was lost
(about 1 in 20 in the browser tests). With stable keys the newest binding always wins; the price is
that the second click of a double click can reach the next item, so a choice arriving less than
`labeling.min_seconds` (1 s) after an item was shown is dropped, and the store refuses it as well:
nobody reads four texts that fast. (0.3 s let clicks 0.4 s apart label the next item.)

The page fits a 1280x800 window (`label_layout`). One toolbar line above the item holds the progress
and the actions, each with its key: I shows or hides the instructions, S and F open the skip and flag
forms, U steps back (`review`). The forms open in the page under the toolbar and push the item down
(a popover covered the options); Escape closes them. Streamlit's shortcuts ignore letters typed in a
text box, so a reason's details never press them. A long prompt shows its end (`render.prompt_end`),
and a toggle under the item highlights where the continuations differ (`differences`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Optional

import streamlit as st

from labeling_app import auth, context, label_layout, render, review
from labeling_app.choice_button import choice_button
from labeling_app.context import RunContext, run_context
from rlhf.errors import LabelTooSoon, RLHFError
from rlhf.labeling.store import Assignment, Labeler, Progress

SKIP_REASONS = ["Can't decide: equally good", "Can't decide: equally bad", "I don't understand the text", "Other"]
FLAG_REASONS = ["Offensive or harmful", "Garbled or not a real prompt", "Personal information", "Other"]
# kind: (question, reasons, submit button, what the label stores)
FORMS = {"skip": ("Why skip this item?", SKIP_REASONS, "Skip this item", {"skipped": True}),
         "flag": ("What is wrong with the prompt?", FLAG_REASONS, "Flag the prompt", {"flagged": True})}
_ITEM, _NOTICE, _LABELED = "label_item", "label_notice", "labeled_this_session"
_HELP, _FORM = "instructions_open", "reason_form"  # _FORM: (kind, item token) of the open skip or flag form


@dataclass
class Item:
    """An assignment on screen."""

    labeler_id: int
    assignment: Assignment
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    shown_at: float = field(default_factory=time.monotonic)


def render_page() -> None:
    run = run_context()
    labeler = auth.require_signed_in()
    label_layout.fit_page()
    item = _current_item(run, labeler)
    reviewing = review.reviewing()
    _toolbar(run, labeler, item, reviewing)
    if _instructions_open():
        _instructions(run)
    if notice := st.session_state.pop(_NOTICE, None):
        st.warning(notice)
    if changed := review.notice():
        st.success(changed)
    if reviewing:
        review.render_review(run)
        return
    if item is None:
        _all_done()
        return
    _reason_form(run, item)
    _choices(run, item)
    with st.container(horizontal=True, vertical_alignment="center", gap="medium"):
        render.highlight_toggle()
        st.caption(legend(run))


def legend(run: RunContext) -> str:
    """The page's keys, on one line under the item."""
    return (f"Keys: **1-{_number_keys(run)}** best · **S** skip · **F** flag the prompt · **U** previous · "
            "**I** instructions · **Esc** close a form")


def _number_keys(run: RunContext) -> int:
    return min(run.config.labeling.samples_per_query, 9)


def _current_item(run: RunContext, labeler: Labeler) -> Optional[Item]:
    """The item on screen, else the labeler's next assignment (the store never repeats a batch).

    An assignment handed out before this session (a reload, a server restart) has been on screen
    since then: its reading time counts from the store's `assigned_at`, not from now.
    """
    item = st.session_state.get(_ITEM)
    if item is None or item.labeler_id != labeler.id:
        labeling = run.config.labeling
        assignment = run.store.next_assignment(labeler.id, labeling.labelers_per_batch,
                                               count_machines=labeling.count_machine_labelers, gold_rate=labeling.gold_rate)
        item = Item(labeler.id, assignment, shown_at=context.shown_at(assignment.assigned_at)) if assignment is not None else None
        st.session_state[_ITEM] = item
    return item


def _toolbar(run: RunContext, labeler: Labeler, item: Optional[Item], reviewing: bool) -> None:
    """Progress and the page's actions on one line above the item, each with its key. The skip and flag
    forms open below it, pushing the item down rather than covering it (as a popover did)."""
    with st.container(horizontal=True, vertical_alignment="bottom", key="label_toolbar"):
        _progress(run.store.progress(labeler.id, run.config.labeling.labelers_per_batch,
                                     run.config.labeling.count_machine_labelers, run.config.labeling.gold_rate))
        st.button("Hide instructions" if _instructions_open() else "Instructions", key="instructions_toggle",
                  shortcut="i", on_click=_toggle_instructions, help="Show or hide the task's instructions")
        if reviewing:
            return  # the review draws its own way back (Escape) and further back (U)
        for kind, label, help in (("skip", "Skip", "Skip this item, with a reason"),
                                  ("flag", "Flag prompt", "Flag a bad prompt, with a reason")):
            st.button(label, key=f"{kind}_open", shortcut=kind[0], disabled=item is None, help=help,
                      type="primary" if item is not None and _open_form(item) == kind else "secondary",
                      on_click=_toggle_form, args=(kind, item))
        review.previous_button()


def _progress(progress: Progress) -> None:
    rate = f" · {progress.labels_per_hour:.0f} labels/hour" if progress.labels_per_hour else ""
    share = progress.done / progress.available if progress.available else 1.0
    st.progress(min(share, 1.0), text=f"**{progress.done} / {progress.available}** done{rate}")


def _instructions_open() -> bool:
    """Open until the labeler's first label in this session, then out of the way; `I` overrides both."""
    return st.session_state.get(_HELP, not st.session_state.get(_LABELED, False))


def _toggle_instructions() -> None:
    st.session_state[_HELP] = not _instructions_open()


def _instructions(run: RunContext) -> None:
    task = run.config.task
    text = task.instructions.strip() or task.description.strip() or "Pick the continuation you like best."
    with st.container(border=True, key="instructions"):
        st.markdown(f"**Instructions: {task.name}**")
        st.markdown(text)  # written by the experimenter in the run config, not by the model
        st.caption(f"Click Best under the best continuation, or press its number (1-{_number_keys(run)}). S skips the item and "
                   "F flags a bad prompt, each with a reason. U steps back to an item you labeled, to see or change "
                   "your choice. I shows or hides these instructions.")


def _open_form(item: Item) -> Optional[str]:
    """"skip" or "flag" while that form is open for this item, else None (a new item starts with none)."""
    kind, token = st.session_state.get(_FORM) or (None, None)
    return kind if token == item.token else None


def _toggle_form(kind: str, item: Item) -> None:
    st.session_state[_FORM] = None if _open_form(item) == kind else (kind, item.token)


def _close_form() -> None:
    st.session_state[_FORM] = None


def _reason_form(run: RunContext, item: Item) -> None:
    kind = _open_form(item)
    if kind is None:
        return
    question, reasons, action, label = FORMS[kind]
    with st.form(f"{kind}_{item.token}"):
        st.radio(question, reasons, key=f"{kind}_reason_{item.token}", horizontal=True)
        with st.container(horizontal=True, vertical_alignment="bottom"):
            st.text_input("Details (optional)", key=f"{kind}_details_{item.token}", max_chars=500)
            # The first submit button is the one Enter in the details field presses.
            st.form_submit_button(action, type="primary", on_click=_submit_with_reason, args=(run, item, kind), kwargs=label)
            st.form_submit_button("Cancel", shortcut="escape", on_click=_close_form)


def _choices(run: RunContext, item: Item) -> None:
    def best(position: int, **keys) -> None:
        choice_button("Best", help=f"Choose continuation {position + 1}", width="stretch", on_choose=_choose,
                      args=(run, item, item.assignment.shown_order[position]), **keys)

    render.show_options(item.assignment, best, highlight=render.highlighting())


def _choose(run: RunContext, item: Item, choice: int) -> None:
    if time.monotonic() - item.shown_at >= context.min_reading_seconds(run):
        _submit(run, item, choice=choice)


def _submit_with_reason(run: RunContext, item: Item, kind: str, **label) -> None:
    reason = st.session_state.get(f"{kind}_reason_{item.token}") or "Other"
    details = (st.session_state.get(f"{kind}_details_{item.token}") or "").strip()
    _submit(run, item, reason=f"{reason}: {details}" if details else reason, **label)


def _submit(run: RunContext, item: Item, **label) -> None:
    """Store the label of `item` (the item the button was drawn for) and move on to the next one."""
    if auth.current(run.store) is None:  # expired or deactivated since the page was drawn: the click stores nothing
        return
    seconds = round(time.monotonic() - item.shown_at, 3)
    label_id = None
    try:
        label_id = run.store.submit(item.labeler_id, item.assignment.batch_id, shown_order=item.assignment.shown_order,
                                    seconds=seconds, client_token=item.token, min_seconds=context.min_reading_seconds(run),
                                    **label)
    except LabelTooSoon:
        return  # a click meant for the item before: the item stays on screen, unlabeled
    except RLHFError as error:
        st.session_state[_NOTICE] = f"That label was not stored: {error}"
    # A second click on the same item must neither discard the next item, already on screen, nor be
    # recorded for review twice.
    if st.session_state.get(_ITEM) is item:
        del st.session_state[_ITEM]
        if label_id is not None:
            action = "flagged" if label.get("flagged") else "skipped" if label.get("skipped") else "chose"
            review.record(review.Done(label_id, item.assignment, label.get("choice"), action))
    st.session_state[_LABELED] = True
    _close_form()


def _all_done() -> None:
    st.success("All done, thank you! There is nothing left for you to label right now.", icon=":material/task_alt:")
    st.caption("New items appear here when more samples are added to the run.")
    st.button("Check for new items")  # a rerun is all it takes
