"""The labeling app locked down: sign-in on every page, each labeler sees only their own work,
admins only on the dashboard, slowed-down password guessing, expiring sessions (run in-process with
AppTest; a fake clock stands in for time)."""

import sys
import types
from pathlib import Path

import pytest
from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from labeling_app import auth, context
from labeling_app.synthetic import make_run
from rlhf.config.run_config import load_config
from rlhf.errors import ConfigError
from rlhf.labeling.passwords import Throttle
from rlhf.labeling.schema import LabelerRow

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "labeling_app" / "app.py")
ROUTES = ["routes/label.py", "routes/compare.py", "routes/dashboard.py"]
USERS = [("ann", "ann-password", "labeler"), ("bob", "bob-password", "labeler"), ("root", "root-password", "admin")]


class FakeClock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SpyStore:
    """The run's store, recording every method called on it (name, args, kwargs)."""

    def __init__(self, store):
        self._store, self.calls = store, []

    def __getattr__(self, name):
        attr = getattr(self._store, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            return attr(*args, **kwargs)
        return call

    def names(self) -> set[str]:
        return {name for name, _, _ in self.calls}


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(auth, "clock", fake)
    monkeypatch.setattr(auth, "THROTTLE", Throttle(free=3, base=1.0, cap=300.0))  # no failures from other tests
    return fake


@pytest.fixture
def run(tmp_path, monkeypatch, clock):
    """3 batches, ann and bob (labelers), root (admin); bob has labeled and judged; one open comparison."""
    config_path, store = make_run(tmp_path / "runs", "secure", batches=3, labelers=USERS)
    monkeypatch.setenv("RLHF_CONFIG", str(config_path))
    monkeypatch.setattr(context, "min_reading_seconds", lambda run: 0.0)  # AppTest clicks faster than any person
    bob = store.labeler("bob")
    store.submit(bob.id, 1, choice=0, shown_order=[0, 1, 2, 3], seconds=3.0, reason="bob-secret-reason")
    judged = store.add_comparison("q0", "policy", "zero-shot", "bob judged this A", "bob judged this B")
    store.next_comparison("bob")
    store.judge_comparison(judged, "bob", "a")
    store.add_comparison("q1", "policy", "zero-shot", "open text A", "open text B")
    spy = SpyStore(store)
    monkeypatch.setattr(context, "_open_store", lambda url: spy)  # every page's run.store is the spy
    return types.SimpleNamespace(config=config_path, store=store, spy=spy, clock=clock)


def app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60)


def sign_in(name: str, password: str, at: AppTest = None) -> AppTest:
    at = at or app().run()
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(password)
    return next(b for b in at.button if b.label == "Sign in").click().run()


def page_text(at: AppTest) -> str:
    """Everything the page shows as text: markdown, captions, html, alerts, metrics, tables, titles."""
    parts = [e.value for kind in ("markdown", "caption", "html", "error", "warning", "info", "success", "title",
                                  "subheader") for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric] + [d.value.to_csv() for d in at.dataframe]
    parts += [b.label for b in at.button] + [p.proto.text for p in at.get("progress")]
    return "\n".join(parts)


def signed_in(at: AppTest) -> bool:
    return "labeler" in at.session_state and not [t for t in at.text_input if t.key == "sign_in_name"]


def shows_only_the_sign_in_form(at: AppTest) -> bool:
    return (not at.exception and at.text_input(key="sign_in_name") is not None and at.title[0].value == "Sign in"
            and [b.label for b in at.button] == ["Sign in"] and not at.metric and not at.dataframe
            and not at.get("progress") and not [h for h in at.html if "rlhf-" in h.value])


# -- sign-in on every page ------------------------------------------------------------------------

@pytest.mark.parametrize("route", ROUTES)
def test_every_page_without_a_sign_in_shows_only_the_sign_in_form(run, route):
    at = app().run()
    at.switch_page(route).run()
    assert shows_only_the_sign_in_form(at)
    text = page_text(at)
    assert "open text" not in text and "bob" not in text and "Dashboard" not in text
    assert run.spy.names() <= {"authenticate", *WARM_UP}  # nothing read from the store before a sign-in
    # The page asked for is the one drawn after the sign-in (a labeler's dashboard is its guard).
    at = sign_in("ann", "ann-password", at)
    assert signed_in(at) and not at.exception


# Once per process the app counts the store's label rows, to start computing a large store's dashboard
# figures before an admin asks (dashboard_figures.warm): a count, shown to no one.
WARM_UP = {"label_rows_and_newest"}


@pytest.mark.parametrize("route", ["label.py", "compare.py"])
def test_each_page_script_has_its_own_guard(run, route):
    """Run without app.py (its navigation and form), a page still draws nothing but its guard. (The
    dashboard's guard, "Admins only", is checked through app.py: its link back needs app.py's pages.)"""
    guard = "Please sign in."
    at = AppTest.from_file(str(ROOT / "labeling_app" / "routes" / route), default_timeout=60).run()
    assert not at.exception
    assert [e.value for e in (*at.warning, *at.error)] == [guard]
    assert not at.html and not at.metric and not at.dataframe and not at.button and not at.get("progress")
    assert run.spy.names() <= WARM_UP


# -- a labeler sees only their own work -----------------------------------------------------------

LABELER_CALLS = {"next_assignment": 0, "progress": 0, "submit": 0, "open_app_session": 0,  # argument index of the labeler's id
                 "labeler_by_id": 0, "change_password": 0,  # every action re-reads the labeler (deactivation, role)
                 "next_comparison": 0, "comparison_progress": 0, "judge_comparison": 1}  # ... or name
SESSION_CALLS = {"resume_app_session", "touch_app_session", "close_app_session"}  # by the session's own token


def test_a_labeler_sees_and_touches_only_their_own_assignments_labels_and_comparisons(run, monkeypatch):
    exports = []
    monkeypatch.setitem(sys.modules, "rlhf.labeling.export",
                        types.SimpleNamespace(export_labels=lambda *a, **k: exports.append(a) or {}))
    ann = run.store.labeler("ann")
    at = sign_in("ann", "ann-password")
    assert "0 / 2" in page_text(at)  # ann's progress: bob's label is not hers, his batch is not offered to her
    at.button(key="choose_0").click().run()
    at.switch_page("routes/compare.py").run()
    assert "open text" in page_text(at) and "bob judged" not in page_text(at)
    at.button(key="compare_left").click().run()
    at.switch_page("routes/dashboard.py").run()
    assert [e.value for e in at.error] == ["Admins only."]
    for route in ROUTES:
        at.switch_page(route).run()
        text = page_text(at)
        assert "bob" not in text and "bob-secret-reason" not in text and "root" not in text
    assert exports == []
    # Every store call the pages made was about ann, and none reads other labelers' rows.
    assert run.spy.names() <= {"authenticate", "query", *SESSION_CALLS, *LABELER_CALLS, *WARM_UP}, run.spy.names()
    for name, args, _kwargs in run.spy.calls:
        if name in LABELER_CALLS:
            assert args[LABELER_CALLS[name]] in (ann.id, "ann"), (name, args)
    [label] = [x for x in run.store.labels() if x.labeler_id == ann.id]
    assert label.batch_id in (2, 3)
    assert {c.judge for c in run.store.comparisons()} == {"bob", "ann"}


def test_a_labeler_gets_no_export_and_no_dashboard_figures(run, monkeypatch):
    exports = []
    monkeypatch.setitem(sys.modules, "rlhf.labeling.export",
                        types.SimpleNamespace(export_labels=lambda *a, **k: exports.append(a) or {}))
    at = sign_in("bob", "bob-password")
    at.switch_page("routes/dashboard.py").run()
    assert [e.value for e in at.error] == ["Admins only."] and [b.key for b in at.button] == ["sign_out"]
    assert not at.metric and not at.dataframe and exports == []
    assert not {"labels", "label_facts", "comparisons", "labelers", "count_batches"} & run.spy.names()


def test_an_admin_gets_the_dashboard_until_demoted(run):
    at = sign_in("root", "root-password")
    at.switch_page("routes/dashboard.py").run()
    assert not at.exception and at.title[0].value == "Dashboard" and "label_facts" in run.spy.names()
    with run.store.session() as s, s.begin():  # demoted while signed in
        s.execute(update(LabelerRow).where(LabelerRow.name == "root").values(role="labeler"))
    at.run()
    assert [e.value for e in at.error] == ["Admins only."] and not at.title and not at.metric


# -- password guessing is slowed down -------------------------------------------------------------

def test_the_throttle_backs_off_exponentially_up_to_its_cap():
    throttle = Throttle(free=3, base=1.0, cap=60.0)
    assert [throttle.delay(n) for n in range(11)] == [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]
    keys = ["name:ann"]
    for now in (0.0, 0.1, 0.2):
        assert throttle.wait_seconds(keys, now) == 0
        throttle.failed(keys, now)
    assert throttle.wait_seconds(keys, 0.2) == pytest.approx(1.0) and throttle.wait_seconds(keys, 1.2) == 0
    throttle.failed(keys, 1.2)
    assert throttle.wait_seconds(keys, 1.2) == pytest.approx(2.0) and throttle.wait_seconds(["name:bob"], 1.2) == 0
    assert throttle.wait_seconds(["name:bob", "name:ann"], 2.2) == pytest.approx(1.0)  # the longest wait counts
    throttle.succeeded(keys)
    assert throttle.wait_seconds(keys, 1.2) == 0 and throttle.failures("name:ann") == 0


def test_the_throttle_forgets_after_a_quiet_hour_and_stays_small():
    throttle = Throttle(free=1, base=1.0, cap=10.0, forget=3600.0, max_keys=100)
    for i in range(3):
        throttle.failed(["k"], float(i))
    assert throttle.failures("k") == 3
    throttle.failed(["k"], 2 + 3601.0)
    assert throttle.failures("k") == 1
    for i in range(1000):
        throttle.failed([f"name:n{i}"], 5000.0 + i)
    assert len(throttle._failures) == 100 and throttle.failures("name:n999") == 1


def test_after_three_wrong_passwords_each_attempt_waits_longer(run):
    at = app().run()
    for _ in range(3):
        at = sign_in("ann", "wrong-password", at)
        assert [e.value for e in at.error] == ["Wrong name or password."]
    checks = sum(1 for name, _, _ in run.spy.calls if name == "authenticate")
    at = sign_in("ann", "ann-password", at)  # right, but too soon: refused without checking it
    assert [e.value for e in at.error] == ["Too many failed sign-ins. Try again in 1 second."] and not signed_in(at)
    assert sum(1 for name, _, _ in run.spy.calls if name == "authenticate") == checks
    assert at.text_input(key="sign_in_password").value == ""
    run.clock.advance(1.0)
    at = sign_in("ann", "wrong-password", at)  # a 4th failure: the next wait doubles
    run.clock.advance(1.5)
    at = sign_in("ann", "ann-password", at)
    assert [e.value for e in at.error] == ["Too many failed sign-ins. Try again in 1 second."]
    run.clock.advance(0.5)
    at = sign_in("ann", "ann-password", at)
    assert signed_in(at) and not at.error
    assert auth.THROTTLE.failures("name:ann") == 0  # a sign-in starts the count again


def test_the_wait_holds_for_the_name_in_every_session_and_unknown_names_alike(run):
    first = app().run()
    for attempt in range(5):
        first = sign_in("Nobody", "guess", first)  # an unknown name is slowed down the same way
        assert [e.value for e in first.error] == ["Wrong name or password."]
        if attempt < 4:
            run.clock.advance(100)
    other = sign_in("nobody", "guess")  # another browser session, same name (any case)
    assert [e.value for e in other.error] == ["Too many failed sign-ins. Try again in 4 seconds."]
    assert signed_in(sign_in("bob", "bob-password"))  # other names are not held up


def test_one_session_guessing_many_names_is_slowed_down(run):
    at = app().run()
    for name in ("a1", "a2", "a3"):
        at = sign_in(name, "guess", at)
    at = sign_in("ann", "ann-password", at)
    assert [e.value for e in at.error] == ["Too many failed sign-ins. Try again in 1 second."] and not signed_in(at)


# -- sessions expire --------------------------------------------------------------------------------

def test_a_session_expires_after_session_minutes_even_when_in_use(run):
    at = sign_in("ann", "ann-password")
    for _ in range(9):  # 8 h 15 min of steady use, one action every 55 minutes
        assert signed_in(at)
        run.clock.advance(55 * 60)
        at.run()
    assert not signed_in(at) and shows_only_the_sign_in_form(at)
    assert [i.value for i in at.info] == ["Your session has expired. Please sign in again."]
    assert "label_item" not in at.session_state  # nothing of the old session is left
    at = sign_in("ann", "ann-password", at)
    assert signed_in(at) and not at.info


def test_an_idle_session_expires(run):
    at = sign_in("ann", "ann-password")
    run.clock.advance(59 * 60)
    assert signed_in(at.run())
    run.clock.advance(60 * 60)
    at.run()
    assert not signed_in(at) and "expired" in at.info[0].value


def test_a_click_on_an_expired_page_stores_nothing(run):
    at = sign_in("ann", "ann-password")
    run.clock.advance(61 * 60)
    at.button(key="choose_0").click().run()
    assert [x for x in run.store.labels() if x.labeler_id == run.store.labeler("ann").id] == []
    assert not signed_in(at) and "expired" in at.info[0].value
    at = sign_in("ann", "ann-password", at)
    at.switch_page("routes/compare.py").run()
    run.clock.advance(61 * 60)
    at.button(key="compare_left").click().run()
    assert [c.winner for c in run.store.comparisons()] == ["a", None]


def test_the_session_lifetimes_come_from_the_run_config(run):
    run.config.write_text(run.config.read_text() + "  session_minutes: 5\n  idle_minutes: 2\n")
    at = sign_in("ann", "ann-password")
    for _ in range(3):
        run.clock.advance(90)
        assert signed_in(at.run())
    run.clock.advance(90)  # 6 minutes after the sign-in
    assert not signed_in(at.run())


@pytest.mark.parametrize("key", ["session_minutes", "idle_minutes"])
def test_session_lifetimes_must_be_positive(key):
    with pytest.raises(ConfigError, match=f"labeling.{key}"):
        load_config(None, [(f"labeling.{key}", 0)])
    assert getattr(load_config(None).labeling, key) == {"session_minutes": 480, "idle_minutes": 60}[key]
