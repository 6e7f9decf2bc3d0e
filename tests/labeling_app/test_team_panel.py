"""labeling_app/team_panel.py and the sign-in rules it relies on: an admin adds labelers, resets
passwords, deactivates and changes roles from the dashboard; each action is recorded and takes
effect at the labeler's next action (AppTest)."""

import re
import types

import pytest
from test_labeling_app import USERS, button, errors, on_screen, sign_in

from labeling_app import context
from labeling_app.synthetic import make_run


@pytest.fixture
def run(tmp_path, monkeypatch):
    config_path, store = make_run(tmp_path / "runs", "team", batches=3, labelers=USERS)
    monkeypatch.setenv("RLHF_CONFIG", str(config_path))
    monkeypatch.setattr(context, "min_reading_seconds", lambda run: 0.0)  # AppTest clicks faster than any person
    return types.SimpleNamespace(config=config_path, store=store)


def dashboard():
    at = sign_in("root", "root-password")
    return at.switch_page("routes/dashboard.py").run()


def one_time_password(at) -> str:
    [code] = [c.value for c in at.code]
    return code


def test_an_added_labeler_gets_a_one_time_password_shown_once_and_must_replace_it(run):
    at = dashboard()
    at.text_input(key="team_new_name").input("cat")
    at = button(at, "Add").click().run()
    assert not errors(at) and "One-time password for cat" in at.success[0].value
    password = one_time_password(at)
    at.run()  # any further action: the password is not shown again
    assert not at.code
    first = sign_in("cat", password)
    assert first.title[0].value == "Choose a new password" and not [h for h in first.html if "rlhf-option" in h.value]
    first.text_input(key="new_password").input("cat's password")
    first.text_input(key="new_password_repeat").input("cat's pasword")
    first = button(first, "Set password").click().run()
    assert errors(first) == ["The two passwords differ."]
    first.text_input(key="new_password").input("cat's password")
    first.text_input(key="new_password_repeat").input("cat's password")
    first = button(first, "Set password").click().run()
    assert not errors(first) and on_screen(first)[1]  # the labeling page
    assert sign_in("cat", password).text_input(key="sign_in_name")  # the one-time password is spent
    assert not errors(sign_in("cat", "cat's password"))


def test_a_deactivated_labeler_is_signed_out_at_the_next_click_which_stores_nothing(run):
    ann = sign_in("ann", "ann-password")
    assert on_screen(ann)[1]
    at = dashboard()
    at.selectbox(key="team_target").select("ann").run()
    at = button(at, "Deactivate").click().run()
    assert "ann is deactivated: signed out at their next action." in [s.value for s in at.success]
    ann.button(key="choose_1").click().run()
    assert run.store.labels() == []
    assert ann.text_input(key="sign_in_name") and "deactivated" in ann.info[0].value
    assert sign_in("ann", "ann-password").text_input(key="sign_in_name")  # cannot sign in again
    at.selectbox(key="team_target").select("ann").run()
    button(at, "Reactivate").click().run()
    assert on_screen(sign_in("ann", "ann-password"))[1]


def test_a_reset_password_replaces_the_old_one(run):
    at = dashboard()
    at.selectbox(key="team_target").select("bob").run()
    at = button(at, "Reset password").click().run()
    password = one_time_password(at)
    assert sign_in("bob", "bob-password").text_input(key="sign_in_name")
    assert sign_in("bob", password).title[0].value == "Choose a new password"


def test_a_role_change_applies_at_the_next_action_and_the_last_admin_stays(run):
    ann = sign_in("ann", "ann-password")
    at = dashboard()
    at.selectbox(key="team_target").select("ann").run()
    at = button(at, "Make admin").click().run()
    ann.switch_page("routes/dashboard.py").run()
    assert not errors(ann) and ann.title[0].value == "Dashboard"
    at.selectbox(key="team_target").select("root").run()
    at = button(at, "Make labeler").click().run()  # ann is an admin now: root may step down
    assert run.store.labeler("root").role == "labeler"
    assert errors(at) == ["Admins only."]  # root is no admin any more: the page closes in the same run


def test_the_last_admin_cannot_step_down_and_the_record_shows_every_action(run):
    at = dashboard()
    at.selectbox(key="team_target").select("root").run()
    at = button(at, "Make labeler").click().run()
    assert any("last active admin" in e for e in errors(at))
    at.selectbox(key="team_target").select("bob").run()
    at = button(at, "Deactivate").click().run()
    log = next(frame.value for frame in at.dataframe if "action" in frame.value.columns)
    assert list(log["by"]) == ["root"] and list(log["action"]) == ["deactivated"] and list(log["labeler"]) == ["bob"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", log["when (UTC)"][0])
    team = next(frame.value for frame in at.dataframe if "must change password" in frame.value.columns).set_index("labeler")
    assert not team.loc["bob", "active"] and team.loc["ann", "active"]
