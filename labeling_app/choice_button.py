"""A choice button whose click counts exactly once, also in a restarted server's first run.

A click normally runs the button's callback, which stores the choice before the page is drawn again.
In the first run of a server restarted under an open page, the browser sends the click but this
process never registered the callback, so `st.button` only returns True. The item on screen was
restored from the store (the labeler's assignment or claimed comparison, the one they saw), so the
click counts there, in the run itself, and the page is drawn again with the next item.
"""

from __future__ import annotations

from typing import Any, Callable

import streamlit as st

_HANDLED = "choice_click_handled"  # set by a callback, so the run after it does not choose again


def choice_button(label: str, *, key: str, on_choose: Callable[..., None], args: tuple[Any, ...], **button) -> None:
    """`st.button` that calls `on_choose(*args)` once per click, by its callback or, after a restart, itself."""
    if st.button(label, key=key, on_click=_callback, args=(on_choose, *args), **button) \
            and not st.session_state.pop(_HANDLED, False):
        on_choose(*args)
        st.rerun()


def _callback(on_choose: Callable[..., None], *args: Any) -> None:
    st.session_state[_HANDLED] = True
    on_choose(*args)
