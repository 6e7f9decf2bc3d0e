"""The labeling app's entry point: `RLHF_CONFIG=runs/<name>/config.yaml streamlit run labeling_app/app.py`.

It loads the run (config and label store), asks for a sign-in, then routes to the pages. Labelers get
the labeling page and the Compare page (human pairwise evaluation); admins also get the dashboard.
The dashboard stays registered for labelers but hidden from their menu, so a labeler who types its
URL lands on the page's own "Admins only" guard instead of silently on another page.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from labeling_app import auth
from labeling_app.context import run_context

ROUTES = Path(__file__).resolve().parent / "routes"

st.set_option("client.toolbarMode", "minimal")  # no "Deploy" or developer menu for labelers
run = run_context()
labeler = auth.current(run.store)  # None also when the sign-in has expired or was deactivated (the form says so)
if labeler is None and auth.LABELER not in st.session_state:
    labeler = auth.resume(run.store, run.config.name)  # a sign-in from before a reload or a server restart
if labeler is not None:
    auth.touch(run.store)
auth.write_cookie(run.config.name)
pages = [
    st.Page(ROUTES / "label.py", title="Label", icon=":material/label:", url_path="label", default=True),
    st.Page(ROUTES / "compare.py", title="Compare", icon=":material/compare:", url_path="compare"),
    st.Page(ROUTES / "dashboard.py", title="Dashboard", icon=":material/monitoring:", url_path="dashboard",
            visibility="visible" if labeler is not None and labeler.is_admin else "hidden"),
]
# Called before the sign-in, so the page asked for in the URL is still the one drawn after it.
page = st.navigation(pages, position="top" if labeler is not None else "hidden")
# One page config per run, with the layout of the page drawn: a page that set its own after app.py's
# came out narrow again after some of its widgets' reruns (the dashboard, in Chromium).
wide = labeler is not None and page in (pages[0], pages[2])  # the label page and the dashboard
st.set_page_config(page_title="Labeling", page_icon="🏷️", layout="wide" if wide else "centered")
if labeler is None:
    # A correct sign-in is stored by the form's callback, which runs before this script: the run
    # that follows the click already has a labeler and draws the page.
    auth.sign_in_form(run.store, run.config.name, run.config.labeling)
    st.stop()
auth.header(labeler, run.store)
if labeler.must_change_password:  # signed in with a one-time password: nothing else until it is replaced
    auth.password_change_form(run.store, labeler)
    st.stop()
page.run()
