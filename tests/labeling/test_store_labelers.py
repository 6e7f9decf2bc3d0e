"""rlhf/labeling/store_labelers.py: one-time passwords, (de)activation, roles, and the record of each action."""

import pytest

from rlhf.errors import LabelerInactive, RLHFError
from rlhf.labeling.store import LabelStore


@pytest.fixture
def store(store_url):  # SQLite and PostgreSQL (tests/conftest.py)
    store = LabelStore(store_url)
    store.add_labeler("boss", "boss-password", "admin", actor="cli:root")
    store.add_queries([{"id": "q0", "task": "sentiment", "prompt": "It was"}])
    store.add_batch("q0", ["a", "b", "c", "d"], policy="base")
    yield store
    store.engine.dispose()


def test_an_invited_labeler_signs_in_once_with_the_one_time_password_then_must_choose_their_own(store):
    password = store.invite("ann", "labeler", actor="boss")
    assert len(password) >= 16
    signed_in = store.authenticate("ann", password)
    assert signed_in is not None and signed_in.must_change_password
    store.change_password(signed_in.id, "ann's own password")
    assert not store.labeler("ann").must_change_password
    assert store.authenticate("ann", password) is None
    assert store.authenticate("ann", "ann's own password") is not None


def test_a_new_password_needs_eight_characters(store):
    ann = store.labeler_by_id(store.add_labeler("ann", "first password").id)
    with pytest.raises(RLHFError, match="at least 8 characters"):
        store.change_password(ann.id, "short")
    assert store.authenticate("ann", "first password") is not None


def test_a_reset_replaces_the_password_and_ends_the_stored_sign_ins(store):
    ann = store.add_labeler("ann", "first password")
    token = store.open_app_session(ann.id, 3600, 3600)
    password = store.reset_password("ann", actor="boss")
    assert store.authenticate("ann", "first password") is None
    assert store.authenticate("ann", password).must_change_password
    assert store.resume_app_session(token) is None


def test_a_deactivated_labeler_cannot_sign_in_resume_or_label_and_keeps_their_labels(store):
    ann = store.add_labeler("ann", "first password")
    kept = store.submit(ann.id, 1, choice=2, shown_order=[0, 1, 2, 3])
    token = store.open_app_session(ann.id, 3600, 3600)
    store.set_active("ann", False, actor="boss")
    assert store.authenticate("ann", "first password") is None
    assert store.resume_app_session(token) is None
    with pytest.raises(LabelerInactive, match="deactivated"):
        store.submit(ann.id, 1, choice=1, shown_order=[0, 1, 2, 3], supersedes=kept)
    assert [label.id for label in store.labels()] == [kept]
    store.set_active("ann", True, actor="boss")
    assert store.authenticate("ann", "first password") is not None


def test_roles_change_but_the_last_active_admin_stays(store):
    store.add_labeler("ann", "first password")
    with pytest.raises(RLHFError, match="last active admin"):
        store.set_role("boss", "labeler", actor="boss")
    with pytest.raises(RLHFError, match="last active admin"):
        store.set_active("boss", False, actor="boss")
    store.set_role("ann", "admin", actor="boss")
    store.set_role("boss", "labeler", actor="ann")
    assert (store.labeler("ann").role, store.labeler("boss").role) == ("admin", "labeler")
    with pytest.raises(RLHFError, match="unknown role"):
        store.set_role("ann", "owner", actor="boss")
    with pytest.raises(RLHFError, match="no labeler named 'nobody'"):
        store.reset_password("nobody", actor="boss")


def test_every_action_is_recorded_with_who_what_and_when_and_a_no_op_is_not(store):
    store.invite("ann", "labeler", actor="boss")
    store.reset_password("ann", actor="boss")
    store.set_role("ann", "admin", actor="boss")
    store.set_active("ann", False, actor="boss")
    store.set_active("ann", False, actor="boss")  # already so: nothing happens, nothing recorded
    store.add_labeler("sim:sentiment")  # a simulated labeler is no admin's action
    actions = store.admin_actions()
    assert [(a.actor, a.action, a.target, a.detail) for a in actions] == [
        ("boss", "deactivated", "ann", None),
        ("boss", "changed role", "ann", "labeler -> admin"),
        ("boss", "reset password", "ann", None),
        ("boss", "added", "ann", "role labeler"),
        ("cli:root", "added", "boss", "role admin"),
    ]
    assert actions[0].at >= actions[-1].at and actions[0].at.tzinfo is not None


def test_a_refused_action_changes_nothing_and_records_nothing(store):
    with pytest.raises(RLHFError, match="already exists"):
        store.invite("boss", "labeler", actor="boss")
    assert len(store.admin_actions()) == 1
    assert store.labeler("boss").role == "admin" and not store.labeler("boss").must_change_password
