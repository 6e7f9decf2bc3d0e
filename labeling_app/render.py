"""Model text on the page, shown literally: HTML, markdown, links and images in it are never rendered.

Text goes through `html.escape` into `st.html`, which (unlike `st.markdown`) does no markdown
processing, so `**bold**`, `[link](url)`, `$math$` and `<script>` all appear as typed. White space is
kept (`pre-wrap`), so a labeler sees line breaks and leading spaces as the model wrote them. The
colours use opacity, not fixed values, so the text reads in light and dark themes alike.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Callable, Optional

import streamlit as st

from labeling_app import differences
from labeling_app.differences import Segment

if TYPE_CHECKING:
    from rlhf.labeling.store import Assignment

TAIL_CHARS = 80  # how much of the prompt each option repeats before its continuation
# A long prompt shows only its end, about the last three lines at 1280 px: the continuations follow
# from it. The rest opens on a click; a prompt up to FOLD_ABOVE long is shown whole, as folding a
# few lines away would save little room.
PROMPT_END_CHARS, FOLD_ABOVE = 280, 480
HIGHLIGHT = "highlight_differences"  # session key of the toggle, kept for the session (also while reviewing)
_BLOCK = "white-space:pre-wrap;overflow-wrap:anywhere;line-height:1.55;font-size:1rem;margin:0"
_PROMPT = "opacity:0.55"
_EMPTY = "opacity:0.55;font-style:italic"
_NUMBER = "font-weight:700;margin-right:0.5em"
_SUMMARY = "cursor:pointer;font-size:0.875rem;opacity:0.7;width:fit-content"
_MARK = "background:rgba(250,200,0,0.4);color:inherit;border-radius:0.2em"
_LABEL = "font-size:0.75rem;font-weight:600;text-transform:uppercase;letter-spacing:0.05em;opacity:0.6;margin-right:0.75em"


def escape(text: str) -> str:
    return html.escape(text, quote=True)


def prompt_tail(prompt: str, chars: int = TAIL_CHARS) -> str:
    """The end of the prompt, cut at a word boundary, with an ellipsis when something was cut."""
    if len(prompt) <= chars:
        return prompt
    tail = prompt[-chars:]
    space = tail.find(" ")
    return "…" + (tail[space:] if 0 <= space < chars // 2 else tail)


def prompt_end(prompt: str, chars: int = PROMPT_END_CHARS) -> tuple[str, str]:
    """(head, end): the end is the prompt's last lines that fit in `chars` (or, when its last line alone is
    longer, that line's last `chars` from a word on); the head is all before it, "" for a short prompt."""
    if len(prompt) <= FOLD_ABOVE:
        return "", prompt
    window = prompt[-chars:].rstrip()
    line, space = window.find("\n"), window.find(" ")
    start = line + 1 if line >= 0 and window[line:].strip() else space + 1 if space >= 0 else 0
    cut = len(prompt) - chars + start
    return prompt[:cut], prompt[cut:]


def prompt_html(prompt: str, batch_id: int) -> str:
    """The prompt: a short one whole; of a long one the end, after a control (a <details>) that opens the head
    above it, so the whole prompt reads in order. data-batch (on every item element) tells browser tests
    which item is on screen."""
    head, end = prompt_end(prompt)
    if not head:
        return (f'<div class="rlhf-prompt" data-batch="{batch_id}" style="{_BLOCK}">'
                f'<span style="{_LABEL}">Prompt</span><span style="{_PROMPT}">{escape(prompt)}</span></div>')
    return (f'<div class="rlhf-prompt" data-batch="{batch_id}" style="{_BLOCK}">'
            f'<details class="rlhf-prompt-head"><summary style="{_SUMMARY}"><span style="{_LABEL}">Prompt</span>'
            f'<span class="rlhf-when-closed">its end · show all {len(prompt):,} characters</span>'
            f'<span class="rlhf-when-open">hide the beginning</span></summary>'
            f'<span style="{_PROMPT}">{escape(head)}</span></details>'
            f'<span class="rlhf-prompt-end" style="{_PROMPT}">{escape(end)}</span></div>')


def continuation_html(prompt: str, continuation: str, position: int, batch_id: int,
                      marks: Optional[list[Segment]] = None, last_line_only: bool = False) -> str:
    """Numbered; the continuation after the (grey) end of its prompt, so it reads as what follows it.
    With `marks` (`differences.segments`), the runs marked as differing are highlighted;
    `last_line_only`: repeat only the prompt's last line, for a prompt shown above."""
    if not continuation.strip():
        body = f'<span style="{_EMPTY}">(empty continuation)</span>'
    elif marks:
        body = "".join(f'<mark class="rlhf-diff" style="{_MARK}">{escape(text)}</mark>' if marked else escape(text)
                       for text, marked in marks)
    else:
        body = escape(continuation)
    return (f'<div class="rlhf-option" data-batch="{batch_id}" data-position="{position}" style="{_BLOCK}">'
            f'<span style="{_NUMBER}">{position}</span>'
            f'<span style="{_PROMPT}">{escape(prompt_tail(_last_line(prompt) if last_line_only else prompt))}</span>'
            f'<span class="rlhf-continuation">{body}</span></div>')


def _last_line(prompt: str) -> str:
    """The prompt's last line that is not empty, with the line breaks after it."""
    return prompt[prompt.rstrip("\n").rfind("\n") + 1:]


def show_prompt(prompt: str, batch_id: int) -> None:
    st.html(prompt_html(prompt, batch_id))


def show_continuation(prompt: str, continuation: str, position: int, batch_id: int,
                      marks: Optional[list[Segment]] = None, last_line_only: bool = False) -> None:
    st.html(continuation_html(prompt, continuation, position, batch_id, marks, last_line_only))


def highlighting() -> bool:
    """Whether the labeler asked to see where the continuations differ (the toggle, off by default)."""
    return bool(st.session_state.get(HIGHLIGHT, False))


def highlight_toggle() -> None:
    st.toggle("Highlight differences", key=HIGHLIGHT, persist_state="session",
              help="Mark the words of each continuation that not all the others share")


def show_options(assignment: Assignment, button: Callable[..., None], highlight: bool = False) -> None:
    """The prompt (when the options repeat only its end; of a long one its end, the rest on a click) and
    the continuations in shown order, two to a row, each over `button(position, key=..., shortcut=...)`,
    with `highlight` their differing words marked. The keys are the same for every item (and on the
    review of one), so the shortcuts 1-9 always reach the buttons on screen."""
    last_line_only = len(assignment.prompt) > TAIL_CHARS  # the prompt's end is right above: repeat only its last line
    if last_line_only:
        show_prompt(assignment.prompt, assignment.batch_id)
    shown = assignment.shown
    marks = differences.segments(shown) if highlight else [None] * len(shown)
    columns = st.columns(2) if len(shown) > 1 else [st.container()]
    for position, text in enumerate(shown):
        with columns[position % len(columns)].container(border=True, key=f"option_{position}"):
            show_continuation(assignment.prompt, text, position + 1, assignment.batch_id, marks[position], last_line_only)
            button(position, key=f"choose_{position}", shortcut=str(position + 1) if position < 9 else None)


def caption(text: str) -> None:
    """A small grey line of text that is not markdown (a labeler's name may hold any character)."""
    st.html(f'<div style="font-size:0.875rem;opacity:0.6">{escape(text)}</div>')


# -- the Compare page: two texts side by side. Only "left"/"right" and the comparison id reach the
# page, never which system wrote a text.

# A long prompt (a 500-token document) scrolls inside its own box, so the two texts below it stay on
# screen at 1280x800: the labeler reads the document and both summaries without losing either.
_SCROLL = "max-height:26vh;overflow-y:auto;padding-right:0.5em;border-bottom:1px solid rgba(128,128,128,0.3)"
# Streamlit puts 6rem above the page; 4.5rem still clears its header (navigation) and leaves a long
# document's page the room its texts need.
COMPACT_PAGE_CSS = '<style>[data-testid="stMainBlockContainer"]{padding-top:4.5rem}</style>'


def compact_page() -> None:
    st.html(COMPACT_PAGE_CSS)


def comparison_prompt_html(prompt: str, comparison_id: int) -> str:
    """The whole prompt, scrolling in its box. data-comparison (on every item element) tells browser tests
    which comparison is on screen."""
    return (f'<div class="rlhf-compare-prompt" data-comparison="{comparison_id}" tabindex="0" '
            f'style="{_BLOCK};{_SCROLL}">'
            f'<span style="{_LABEL}">Prompt</span><span style="{_PROMPT}">{escape(prompt)}</span></div>')


def comparison_text_html(prompt: str, text: str, side: str, comparison_id: int, last_line_only: bool = False) -> str:
    """One side's text after the (grey) end of the prompt, headed Left or Right with its key.

    `last_line_only`: repeat only the prompt's last line ("TL;DR:"), for a document shown in full above.
    """
    key = {"left": 1, "right": 2}[side]
    body = escape(text) if text.strip() else f'<span style="{_EMPTY}">(empty text)</span>'
    tail = prompt_tail(_last_line(prompt) if last_line_only else prompt)
    return (f'<div class="rlhf-compare-text" data-comparison="{comparison_id}" data-side="{side}" style="{_BLOCK}">'
            f'<div style="{_LABEL}">{side.capitalize()} ({key})</div>'
            f'<span style="{_PROMPT}">{escape(tail)}</span>'
            f'<span class="rlhf-compare-body">{body}</span></div>')
