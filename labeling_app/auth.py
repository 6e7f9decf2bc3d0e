"""Sign-in, sign-out, session expiry and the guards pages use: who is signed in lives in `st.session_state`.

Labelers are created by the CLI (`rlhf labelers add`); passwords are checked by the store (Argon2).
A failed sign-in says only "wrong name or password", never which of the two was wrong.

Guessing is slowed down (`rlhf.labeling.passwords.Throttle`, one per app process): after 3 failed sign-ins
for a name, or from one browser session, each further attempt waits 1, 2, 4, ... seconds (at most
5 minutes); an attempt made sooner is refused without checking the password.

A sign-in lasts `labeling.session_minutes` and ends sooner when the session was not used for
`labeling.idle_minutes` (both read from the run config at sign-in). An expired session is cleared
like a sign-out, also when its first new action is a button callback (which Streamlit runs before
the page script): callbacks that store anything call `current()` first.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Optional

import streamlit as st

from labeling_app import render
from rlhf.labeling.passwords import Throttle
from rlhf.labeling.store import Labeler, LabelStore

LABELER = "labeler"
LABEL_PAGE = "routes/label.py"  # relative to app.py
_NAME, _PASSWORD, _FAILED, _NOTICE = "sign_in_name", "sign_in_password", "sign_in_failed", "sign_in_notice"
_SESSION, _THROTTLE_ID = "sign_in_session", "sign_in_throttle_id"
DEFAULT_SESSION_MINUTES, DEFAULT_IDLE_MINUTES = 480, 60
THROTTLE = Throttle(free=3, base=1.0, cap=300.0)
clock = time.monotonic  # tests replace it with a fake clock


@dataclass
class SignIn:
    """When the session signed in and was last used, and how long it may last (seconds)."""

    at: float
    last_seen: float
    max_age: float
    max_idle: float

    def expired(self, now: float) -> bool:
        return now - self.at >= self.max_age or now - self.last_seen >= self.max_idle


def current() -> Optional[Labeler]:
    """The signed-in labeler; None when nobody is, or when the sign-in has expired (then it is cleared)."""
    labeler = st.session_state.get(LABELER)
    if labeler is None:
        return None
    sign_in = st.session_state.get(_SESSION)
    if sign_in is None or sign_in.expired(clock()):
        sign_out()
        st.session_state[_NOTICE] = "Your session has expired. Please sign in again."
        return None
    return labeler


def touch() -> None:
    """Mark the session as used now (app.py, on every run of a signed-in session)."""
    sign_in = st.session_state.get(_SESSION)
    if sign_in is not None:
        sign_in.last_seen = clock()


def sign_in_form(store: LabelStore, run_name: str, labeling=None) -> None:
    """The sign-in form; `labeling` (the run's LabelingConfig) gives the session's lifetimes."""
    st.title("Sign in")
    render.caption(f"Labeling for run {run_name}")
    if notice := st.session_state.get(_NOTICE):
        st.info(notice)
    limits = (getattr(labeling, "session_minutes", DEFAULT_SESSION_MINUTES),
              getattr(labeling, "idle_minutes", DEFAULT_IDLE_MINUTES))
    with st.form("sign_in"):
        st.text_input("Name", key=_NAME, autocomplete="username")
        st.text_input("Password", key=_PASSWORD, type="password", autocomplete="current-password")
        st.form_submit_button("Sign in", type="primary", on_click=_sign_in, args=(store, *limits))
    failed = st.session_state.get(_FAILED)
    if failed:
        st.error(failed)


def _session_key() -> str:
    """A random id for this browser session, kept in its session state (a reload starts a new one)."""
    if _THROTTLE_ID not in st.session_state:
        st.session_state[_THROTTLE_ID] = uuid.uuid4().hex
    return st.session_state[_THROTTLE_ID]


def throttle_keys(name: str) -> list[str]:
    """The counters an attempt for `name` counts against: the name (any session) and this browser session."""
    return [f"name:{name.casefold()}", f"session:{_session_key()}"]


def _sign_in(store: LabelStore, session_minutes: float = DEFAULT_SESSION_MINUTES,
             idle_minutes: float = DEFAULT_IDLE_MINUTES) -> None:
    name = (st.session_state.get(_NAME) or "").strip()
    password = st.session_state.get(_PASSWORD) or ""
    st.session_state[_PASSWORD] = ""  # the password does not stay in the session, right or wrong
    st.session_state.pop(_NOTICE, None)
    keys, now = throttle_keys(name), clock()
    wait = THROTTLE.wait_seconds(keys, now)
    if wait > 0:
        seconds = max(1, round(wait))
        st.session_state[_FAILED] = f"Too many failed sign-ins. Try again in {seconds} second{'s' if seconds > 1 else ''}."
        return
    labeler = store.authenticate(name, password)
    if labeler is None:
        THROTTLE.failed(keys, clock())
        st.session_state[_FAILED] = "Wrong name or password."
        return
    THROTTLE.succeeded(keys)
    st.session_state[_FAILED] = None
    st.session_state[LABELER] = labeler
    now = clock()
    st.session_state[_SESSION] = SignIn(now, now, 60.0 * session_minutes, 60.0 * idle_minutes)


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


def require_admin(store: Optional[LabelStore] = None) -> Labeler:
    """The signed-in admin; anyone else sees "Admins only" and nothing more of the page.

    With `store`, an admin's role is read again from it, so an admin demoted (or removed) since
    signing in loses the page at once rather than when the session expires.
    """
    labeler = current()
    if labeler is not None and labeler.is_admin and store is not None:
        now = store.labeler(labeler.name)
        labeler = labeler if now is not None and now.id == labeler.id and now.is_admin else None
    if labeler is None or not labeler.is_admin:
        st.error("Admins only.", icon=":material/lock:")
        st.page_link(LABEL_PAGE, label="Back to labeling", icon=":material/label:")
        st.stop()
    return labeler
