"""Sign-in, sign-out, session expiry and the guards pages use: who is signed in lives in `st.session_state`.

Labelers are created by an admin, on the dashboard (with a one-time password the labeler replaces at
the first sign-in, `password_change_form`) or by the CLI (`rlhf labelers add`); passwords are checked
by the store (Argon2). Every action re-reads the labeler from the store (`current(store)`), so a
deactivation signs the labeler out at their next click, and a role change applies at once.
A failed sign-in says only "wrong name or password", never which of the two was wrong.

Guessing is slowed down (`rlhf.labeling.passwords.Throttle`, one per app process): after 3 failed sign-ins
for a name, or from one browser session, each further attempt waits 1, 2, 4, ... seconds (at most
5 minutes); an attempt made sooner is refused without checking the password.

A sign-in lasts `labeling.session_minutes` and ends sooner when the session was not used for
`labeling.idle_minutes` (both read from the run config at sign-in). An expired session is cleared
like a sign-out, also when its first new action is a button callback (which Streamlit runs before
the page script): callbacks that store anything call `current()` first.

A sign-in survives a page reload and a server restart: it is also kept in the store
(`rlhf.labeling.app_sessions`), and the browser holds its random token in a cookie (SameSite=Strict,
never the password). A new browser session with the cookie resumes it (`resume`) when the store
says it is within both limits and its labeler is still active; signing out deletes it.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from typing import Optional

import streamlit as st

from labeling_app import render
from rlhf.errors import RLHFError
from rlhf.labeling.passwords import Throttle
from rlhf.labeling.store import Labeler, LabelStore

LABELER = "labeler"
LABEL_PAGE = "routes/label.py"  # relative to app.py
_NAME, _PASSWORD, _FAILED, _NOTICE = "sign_in_name", "sign_in_password", "sign_in_failed", "sign_in_notice"
_SESSION, _THROTTLE_ID = "sign_in_session", "sign_in_throttle_id"
_TOKEN, _COOKIE, _STORED_AT = "sign_in_token", "sign_in_cookie", "sign_in_stored_at"
_NEW, _REPEAT = "new_password", "new_password_repeat"
STORE_TOUCH_SECONDS = 60.0  # how often a session's last use is written to the store (its idle limit after a restart)
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


def current(store: Optional[LabelStore] = None) -> Optional[Labeler]:
    """The signed-in labeler; None when nobody is, or when the sign-in has expired (then it is cleared).

    With `store`, the labeler is read again from it: one deactivated (or removed) since signing in is
    signed out now, and a changed role or a one-time password takes effect at this action.
    """
    labeler = st.session_state.get(LABELER)
    if labeler is None:
        return None
    sign_in = st.session_state.get(_SESSION)
    if sign_in is None or sign_in.expired(clock()):
        sign_out()
        st.session_state[_NOTICE] = "Your session has expired. Please sign in again."
        return None
    if store is None:
        return labeler
    now = store.labeler_by_id(labeler.id)
    if now is None or not now.active or now.name != labeler.name:
        sign_out(store)
        st.session_state[_NOTICE] = "This account has been deactivated. Ask an admin if that is a mistake."
        return None
    st.session_state[LABELER] = now
    return now


def touch(store: Optional[LabelStore] = None) -> None:
    """Mark the session as used now (app.py, on every run of a signed-in session); in the store at most
    once a minute, so that after a restart its idle limit counts from about the last use."""
    sign_in = st.session_state.get(_SESSION)
    if sign_in is not None:
        sign_in.last_seen = clock()
    token = st.session_state.get(_TOKEN)
    if store is not None and token and clock() - st.session_state.get(_STORED_AT, float("-inf")) >= STORE_TOUCH_SECONDS:
        store.touch_app_session(token)
        st.session_state[_STORED_AT] = clock()


def cookie_name(run_name: str) -> str:
    """One cookie per run: two runs' apps on one host (cookies ignore the port) keep their own sign-ins."""
    return "rlhf_session_" + hashlib.sha256(run_name.encode()).hexdigest()[:12]


def resume(store: LabelStore, run_name: str) -> Optional[Labeler]:
    """The labeler of a sign-in this browser made before a reload or a server restart, if still valid."""
    token = st.context.cookies.get(cookie_name(run_name))
    if not isinstance(token, str) or not token:  # no cookie (or Streamlit's AppTest, which has no browser)
        return None
    resumed = store.resume_app_session(token)
    if resumed is None:
        st.session_state[_COOKIE] = ("clear",)  # expired, signed out or unknown: the browser forgets it
        return None
    labeler = Labeler(resumed.labeler_id, resumed.name, resumed.role)
    now = clock()
    st.session_state[LABELER] = labeler
    st.session_state[_SESSION] = SignIn(now - resumed.age_s, now, resumed.max_age_s, resumed.max_idle_s)
    st.session_state[_TOKEN] = token
    return labeler


def write_cookie(run_name: str) -> None:
    """Set or clear the sign-in cookie in the browser, once, after a sign-in or a sign-out."""
    action = st.session_state.pop(_COOKIE, None)
    if action is None:
        return
    name = cookie_name(run_name)  # hex, and the token is URL-safe base64: nothing to escape
    value = f"{name}={action[1]}; path=/; max-age={int(action[2])}" if action[0] == "set" else f"{name}=; path=/; max-age=0"
    st.html(f'<script>document.cookie = "{value}; SameSite=Strict" + '
            f'(location.protocol === "https:" ? "; Secure" : "");</script>', unsafe_allow_javascript=True)


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
    token = store.open_app_session(labeler.id, 60.0 * session_minutes, 60.0 * idle_minutes)
    st.session_state[_TOKEN] = token
    st.session_state[_COOKIE] = ("set", token, 60.0 * session_minutes)


def sign_out(store: Optional[LabelStore] = None) -> None:
    token = st.session_state.get(_TOKEN)
    if store is not None and token:
        store.close_app_session(token)  # a copy of the cookie signs nobody in any more
    # Everything in the session belongs to the labeler who leaves (their current item included).
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state[_COOKIE] = ("clear",)


# On a screen wider than a phone's the line sits in Streamlit's top bar, right of the page menu, where it
# takes no room from the page (a labeling page has none to spare at 1280x800).
_HEADER_CSS = ("<style>@media (min-width: 640px){.st-key-signed_in{position:fixed;top:0.6rem;right:1.5rem;"
               "width:auto;z-index:999991}}</style>")


def password_change_form(store: LabelStore, labeler: Labeler) -> None:
    """Choosing a new password, before anything else, after signing in with a one-time one."""
    st.title("Choose a new password")
    render.caption(f"{labeler.name}: you signed in with a one-time password from an admin. Choose your own to go on.")
    with st.form("choose_password"):
        st.text_input("New password", key=_NEW, type="password", autocomplete="new-password")
        st.text_input("Repeat the new password", key=_REPEAT, type="password", autocomplete="new-password")
        st.form_submit_button("Set password", type="primary", on_click=_change_password, args=(store, labeler))
    if failed := st.session_state.get(_FAILED):
        st.error(failed)


def _change_password(store: LabelStore, labeler: Labeler) -> None:
    new, repeat = st.session_state.get(_NEW) or "", st.session_state.get(_REPEAT) or ""
    st.session_state[_NEW] = st.session_state[_REPEAT] = ""  # passwords do not stay in the session
    if new != repeat:
        st.session_state[_FAILED] = "The two passwords differ."
        return
    try:
        store.change_password(labeler.id, new)
    except RLHFError as error:
        st.session_state[_FAILED] = str(error).replace("; nothing was changed", "") + "."
        return
    st.session_state[_FAILED] = None
    st.session_state[LABELER] = store.labeler_by_id(labeler.id)


def header(labeler: Labeler, store: Optional[LabelStore] = None) -> None:
    """Who is signed in, and the way out, on one line at the top of every page."""
    st.html(_HEADER_CSS)
    with st.container(horizontal=True, vertical_alignment="center", horizontal_alignment="right", key="signed_in"):
        render.caption(f"Signed in as {labeler.name}" + (" (admin)" if labeler.is_admin else ""))
        st.button("Sign out", on_click=sign_out, args=(store,), key="sign_out", type="tertiary")


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
    labeler = current(store)
    if labeler is None or not labeler.is_admin:
        st.error("Admins only.", icon=":material/lock:")
        st.page_link(LABEL_PAGE, label="Back to labeling", icon=":material/label:")
        st.stop()
    return labeler
