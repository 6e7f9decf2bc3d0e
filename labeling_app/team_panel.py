"""The dashboard's team section: add labelers, reset a password, deactivate or reactivate, change a
role, and the record of every such action (who, what, when).

The store does the work and writes the record (`rlhf.labeling.store_labelers`); this lays it out.
A one-time password is shown once, to the admin who made it, right after the action: it lives in
this browser session until the next action replaces it and is never stored in clear.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from rlhf.errors import RLHFError
from rlhf.labeling.store import Labeler, LabelStore

_NEW_NAME, _NEW_ROLE, _TARGET = "team_new_name", "team_new_role", "team_target"
_SHOWN = "team_one_time_password"  # (labeler name, password) to show once
_RESULT = "team_result"  # ("success" | "error", message) of the last action


def render_team(store: LabelStore, admin: Labeler) -> None:
    st.subheader("Team")
    _result()
    people = [labeler for labeler in store.labelers() if labeler.kind == "human"]
    if people:
        st.dataframe(pd.DataFrame([_row(labeler) for labeler in people]), hide_index=True, key="team_table")
    cols = st.columns(2)
    with cols[0]:
        _add_form(store, admin)
    with cols[1]:
        _manage(store, admin, people)
    _log(store)


def _row(labeler: Labeler) -> dict:
    return {"labeler": labeler.name, "role": labeler.role, "active": labeler.active,
            "must change password": labeler.must_change_password}


def _result() -> None:
    if shown := st.session_state.pop(_SHOWN, None):
        name, password = shown
        st.success(f"One-time password for {name}: hand it over now; it is not shown again. "
                   f"{name} chooses a new password at the first sign-in.")
        st.code(password, language=None)
    if result := st.session_state.pop(_RESULT, None):
        (st.success if result[0] == "success" else st.error)(result[1])


def _add_form(store: LabelStore, admin: Labeler) -> None:
    with st.form("team_add", clear_on_submit=True):
        st.markdown("**Add a labeler**")
        st.text_input("Name", key=_NEW_NAME, max_chars=100)
        st.radio("Role", ["labeler", "admin"], key=_NEW_ROLE, horizontal=True)
        st.form_submit_button("Add", on_click=_add, args=(store, admin))


def _manage(store: LabelStore, admin: Labeler, people: list[Labeler]) -> None:
    st.markdown("**Change a labeler**")
    if not people:
        st.info("Nobody to manage yet.")
        return
    name = st.selectbox("Labeler", [labeler.name for labeler in people], key=_TARGET)
    target = next(labeler for labeler in people if labeler.name == name)
    with st.container(horizontal=True):
        st.button("Reset password", key="team_reset", on_click=_act, args=(store, admin, "reset", name))
        if target.active:
            st.button("Deactivate", key="team_deactivate", on_click=_act, args=(store, admin, "deactivate", name))
        else:
            st.button("Reactivate", key="team_activate", on_click=_act, args=(store, admin, "activate", name))
        other = "labeler" if target.is_admin else "admin"
        st.button(f"Make {other}", key="team_role", on_click=_act, args=(store, admin, other, name))


def _add(store: LabelStore, admin: Labeler) -> None:
    name = (st.session_state.get(_NEW_NAME) or "").strip()
    try:
        password = store.invite(name, st.session_state.get(_NEW_ROLE) or "labeler", actor=admin.name)
    except RLHFError as error:
        st.session_state[_RESULT] = ("error", f"Not added: {error}.")
        return
    st.session_state[_SHOWN] = (name, password)


def _act(store: LabelStore, admin: Labeler, action: str, name: str) -> None:
    try:
        if action == "reset":
            st.session_state[_SHOWN] = (name, store.reset_password(name, actor=admin.name))
            return
        if action in ("deactivate", "activate"):
            store.set_active(name, action == "activate", actor=admin.name)
            done = f"{name} is {action}d" + (": signed out at their next action." if action == "deactivate" else ".")
        else:
            store.set_role(name, action, actor=admin.name)
            done = f"{name} is now {'an admin' if action == 'admin' else 'a labeler'}."
    except RLHFError as error:
        st.session_state[_RESULT] = ("error", f"Not changed: {error}.")
        return
    st.session_state[_RESULT] = ("success", done)


def _log(store: LabelStore) -> None:
    actions = store.admin_actions()
    st.markdown("**Record of admin actions**")
    if not actions:
        st.caption("No admin actions yet.")
        return
    st.dataframe(pd.DataFrame([{"when (UTC)": a.at.strftime("%Y-%m-%d %H:%M:%S"), "by": a.actor, "action": a.action,
                                "labeler": a.target, "detail": a.detail or ""} for a in actions]),
                 hide_index=True, key="team_log")
