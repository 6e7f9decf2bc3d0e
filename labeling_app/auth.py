"""Sign-in, sign-out and the guards pages use: who is signed in lives in `st.session_state`.

Labelers are created by the CLI (`rlhf labelers add`); passwords are checked by the store (Argon2).
A failed sign-in says only "wrong name or password", never which of the two was wrong.
"""

from __future__ import annotations

from typing import Optional

import streamlit as st

from labeling_app import render
from rlhf.label_store import Labeler, LabelStore

LABELER = "labeler"
LABEL_PAGE = "routes/label.py"  # relative to app.py
_NAME, _PASSWORD, _FAILED = "sign_in_name", "sign_in_password", "sign_in_failed"


def current() -> Optional[Labeler]:
    return st.session_state.get(LABELER)


def sign_in_form(store: LabelStore, run_name: str) -> None:
    st.title("Sign in")
    render.caption(f"Labeling for run {run_name}")
    with st.form("sign_in"):
        st.text_input("Name", key=_NAME, autocomplete="username")
        st.text_input("Password", key=_PASSWORD, type="password", autocomplete="current-password")
        st.form_submit_button("Sign in", type="primary", on_click=_sign_in, args=(store,))
    if st.session_state.get(_FAILED):
        st.error("Wrong name or password.")


def _sign_in(store: LabelStore) -> None:
    name = (st.session_state.get(_NAME) or "").strip()
    labeler = store.authenticate(name, st.session_state.get(_PASSWORD) or "")
    st.session_state[_PASSWORD] = ""  # the password does not stay in the session, right or wrong
    st.session_state[_FAILED] = labeler is None
    if labeler is not None:
        st.session_state[LABELER] = labeler


def sign_out() -> None:
    # Everything in the session belongs to the labeler who leaves (their current item included).
    for key in list(st.session_state.keys()):
        del st.session_state[key]


def header(labeler: Labeler) -> None:
    """Who is signed in, and the way out, on one line at the top of every page."""
    with st.container(horizontal=True, vertical_alignment="center", horizontal_alignment="right"):
        render.caption(f"Signed in as {labeler.name}" + (" (admin)" if labeler.is_admin else ""))
        st.button("Sign out", on_click=sign_out, key="sign_out", type="tertiary")


def require_signed_in() -> Labeler:
    labeler = current()
    if labeler is None:
        st.warning("Please sign in.")
        st.stop()
    return labeler


def require_admin() -> Labeler:
    """The signed-in admin; anyone else sees "Admins only" and nothing more of the page."""
    labeler = current()
    if labeler is None or not labeler.is_admin:
        st.error("Admins only.", icon=":material/lock:")
        st.page_link(LABEL_PAGE, label="Back to labeling", icon=":material/label:")
        st.stop()
    return labeler
