"""Model text on the page, shown literally: HTML, markdown, links and images in it are never rendered.

Text goes through `html.escape` into `st.html`, which (unlike `st.markdown`) does no markdown
processing, so `**bold**`, `[link](url)`, `$math$` and `<script>` all appear as typed. White space is
kept (`pre-wrap`), so a labeler sees line breaks and leading spaces as the model wrote them. The
colours use opacity, not fixed values, so the text reads in light and dark themes alike.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Callable

import streamlit as st

if TYPE_CHECKING:
    from rlhf.labeling.store import Assignment

TAIL_CHARS = 80  # how much of the prompt each option repeats before its continuation
_BLOCK = "white-space:pre-wrap;overflow-wrap:anywhere;line-height:1.55;font-size:1rem;margin:0"
_PROMPT = "opacity:0.55"
_EMPTY = "opacity:0.55;font-style:italic"
_NUMBER = "font-weight:700;margin-right:0.5em"
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


def prompt_html(prompt: str, batch_id: int) -> str:
    """The whole prompt. data-batch (on every item element) tells browser tests which item is on screen."""
    return (f'<div class="rlhf-prompt" data-batch="{batch_id}" style="{_BLOCK}">'
            f'<span style="{_LABEL}">Prompt</span><span style="{_PROMPT}">{escape(prompt)}</span></div>')


def continuation_html(prompt: str, continuation: str, position: int, batch_id: int) -> str:
    """Numbered; the continuation after the (grey) end of its prompt, so it reads as what follows it."""
    body = escape(continuation) if continuation.strip() else f'<span style="{_EMPTY}">(empty continuation)</span>'
    return (f'<div class="rlhf-option" data-batch="{batch_id}" data-position="{position}" style="{_BLOCK}">'
            f'<span style="{_NUMBER}">{position}</span>'
            f'<span style="{_PROMPT}">{escape(prompt_tail(prompt))}</span>'
            f'<span class="rlhf-continuation">{body}</span></div>')


def show_prompt(prompt: str, batch_id: int) -> None:
    st.html(prompt_html(prompt, batch_id))


def show_continuation(prompt: str, continuation: str, position: int, batch_id: int) -> None:
    st.html(continuation_html(prompt, continuation, position, batch_id))


def show_options(assignment: Assignment, button: Callable[..., None]) -> None:
    """The prompt (whole, when the options repeat only its end) and the continuations in shown order,
    two to a row, each over `button(position, key=..., shortcut=...)`. The keys are the same for every
    item (and on the review of one), so the shortcuts 1-9 always reach the buttons on screen."""
    if len(assignment.prompt) > TAIL_CHARS:
        show_prompt(assignment.prompt, assignment.batch_id)
    shown = assignment.shown
    columns = st.columns(2) if len(shown) > 1 else [st.container()]
    for position, text in enumerate(shown):
        with columns[position % len(columns)].container(border=True):
            show_continuation(assignment.prompt, text, position + 1, assignment.batch_id)
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
    tail = prompt_tail(prompt.rsplit("\n", 1)[-1] if last_line_only else prompt)
    return (f'<div class="rlhf-compare-text" data-comparison="{comparison_id}" data-side="{side}" style="{_BLOCK}">'
            f'<div style="{_LABEL}">{side.capitalize()} ({key})</div>'
            f'<span style="{_PROMPT}">{escape(tail)}</span>'
            f'<span class="rlhf-compare-body">{body}</span></div>')
