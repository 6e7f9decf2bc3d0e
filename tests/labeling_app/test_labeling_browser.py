"""The labeling app in a real browser: `streamlit run` plus Debian's headless Chromium through selenium.

Labels several items with the keyboard (keys 1-4 sent to the page), then checks the stored rows; judges
comparisons on the Compare page with keys 1-3 the same way. Saves tests/artifacts/labeling_page.png and
tests/artifacts/compare_page.png. Skipped only where chromium or chromedriver is not on the PATH (a failure under CI=true).
"""

import os
import time
from pathlib import Path

import pytest

from labeling_app.browser import (
    COMPARE_PAGE,
    AppServer,
    Chromium,
    LabelingTab,
    body_text,
    click_when_ready,
    save_screenshot,
    type_when_ready,
    wait_for,
    wait_for_text,
    wait_until,
    wait_until_settled,
)
from labeling_app.synthetic import fill_store, make_run
from rlhf.config.sections import LabelingConfig

pytestmark = pytest.mark.usefixtures("browser")  # conftest: skipped without Chromium, failed under CI=true

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ROOT = Path(__file__).resolve().parents[2]
MIN_SECONDS = LabelingConfig().min_seconds  # a person reads first; faster choices are dropped
PROMPT = ("The letter arrived on a Tuesday. Nobody had written to the old lighthouse keeper in years, and he turned "
          "it over twice before opening it with his thumb, slowly, as if it might bite. Inside was a single sheet of paper and")
GOOD = [" a photograph of a girl he had never met.", " nothing else at all, which made him laugh out loud.",
        " a pressed flower, still faintly blue.", " a list of names he had tried for years to forget."]
NASTY = [" <script>alert(1)</script> done.", " **bold** move.", " [link](http://x) here.", " ![img](http://x/y.png) there."]


@pytest.fixture
def run(tmp_path):
    config_path, store = make_run(tmp_path / "runs", "browser", batches=0,
                                  labelers=[("ann", "ann-password", "labeler")])
    fill_store(store, [(PROMPT, GOOD), ("Then she wrote", NASTY)] + [(f"Item {i} began", [f" end {i}.{j}." for j in range(4)])
                                                                    for i in range(4)])
    return config_path, store


@pytest.fixture
def server(run, tmp_path):
    with AppServer(run[0], log_path=tmp_path / "streamlit.log") as app_server:  # stopped even when a test fails
        yield app_server


@pytest.fixture
def tab(server):
    with Chromium() as driver:
        yield LabelingTab(driver, server.url)


SKIP = ("xpath", "//button[.//*[contains(text(), 'Skip')]]")
DETAILS = "input[aria-label='Details (optional)']"


def press_after_reading(tab: LabelingTab, key: str) -> None:
    tab.read_item(MIN_SECONDS + 0.1)  # a person reads first; faster presses are dropped as bounces
    tab.press(key)


def test_labeling_with_the_keyboard_stores_what_was_on_screen(run, server, tab):
    _, store = run
    tab.sign_in("ann", "ann-password")
    first = tab.wait_for_item()
    body = body_text(tab.driver)
    assert "Dashboard" not in body and "Signed in as ann" in body  # a labeler's menu has no dashboard
    save_screenshot(tab.driver, ARTIFACTS / "labeling_page.png")

    shown = {}
    for key in "3142":
        batch = tab.wait_for_item()  # all of the item: texts read from a half-drawn page could mix two items
        texts = tab.shown_texts()
        shown[int(batch)] = (texts, int(key))
        if any("<script>" in text for text in texts):
            _check_literal(tab)
        press_after_reading(tab, key)
        assert tab.batch_on_screen() != batch
    assert first in {str(b) for b in shown}

    labels = store.labels()
    assert len(labels) == 4 and {label.batch_id for label in labels} == set(shown)
    for label in labels:
        texts, key = shown[label.batch_id]
        samples = store.batch(label.batch_id).samples
        assert [samples[i] for i in label.shown_order] == texts  # the order the labeler saw
        assert samples[label.choice] == texts[key - 1]  # the key pressed names the stored choice
        assert label.seconds >= MIN_SECONDS and not label.skipped
    assert NASTY[0] in {text for texts, _ in shown.values() for text in texts}  # the nasty batch was seen


BEST_1 = ".st-key-choose_0 button"


@pytest.mark.parametrize("gap", [0.1, 0.4, 0.8])
def test_the_second_click_of_a_double_click_never_labels_the_next_item(run, server, tab, gap):
    """A slow double click once stored a choice nobody made on the item after (clicks 0.4 s apart)."""
    _, store = run
    tab.sign_in("ann", "ann-password")
    for _ in range(2):
        first = tab.read_item(MIN_SECONDS + 0.1)
        click_when_ready(tab.driver, BEST_1, "the first Best button")
        time.sleep(gap)
        click_when_ready(tab.driver, BEST_1, "the first Best button, again")  # meant for the item just labeled
        second = tab.wait_until(lambda d: (tab.item_on_screen() or first) != first and tab.item_on_screen(),
                                "the next item")
        wait_until_settled(tab.driver)
        labeled = [label.batch_id for label in store.labels()]
        assert labeled.count(int(first)) == 1 and int(second) not in labeled, (gap, first, second, labeled)
        assert tab.item_on_screen() == second  # the next item is still there, unlabeled


def _check_literal(tab: LabelingTab) -> None:
    """Model text with HTML and markdown is on screen as typed, and made no elements."""
    text = tab.driver.execute_script("return [...document.querySelectorAll('.rlhf-option')].map(e => e.innerText).join('\\n')")
    for raw in NASTY:
        assert raw.strip() in text
    made = tab.driver.execute_script(
        "return document.querySelectorAll('.rlhf-option script, .rlhf-option strong, .rlhf-option a, .rlhf-option img').length")
    assert made == 0


def test_u_steps_back_and_a_number_key_changes_the_choice(run, server, tab):
    _, store = run
    tab.sign_in("ann", "ann-password")
    first = tab.read_item(MIN_SECONDS + 0.1)
    tab.press("1")
    second = tab.wait_for_item()
    tab.press("u")  # the item before, as it was shown, with the choice marked
    assert tab.wait_for_item() == first
    wait_for_text(tab.driver, "you chose continuation 1")
    assert "your choice" in body_text(tab.driver) and "Back to labeling (Esc)" in body_text(tab.driver)
    save_screenshot(tab.driver, ARTIFACTS / "labeling_review.png")
    tab.press("3")  # a new choice: stored as a correction, and back to the item that was waiting
    assert tab.wait_for_item() == second
    wait_for_text(tab.driver, "you now chose continuation 3")
    [label] = store.labels()
    assert label.batch_id == int(first) and label.choice == label.shown_order[2] and label.supersedes is not None


def test_typing_a_digit_in_the_skip_details_does_not_choose(run, server, tab):
    _, store = run
    tab.sign_in("ann", "ann-password")
    batch = tab.wait_for_item()
    click_when_ready(tab.driver, SKIP, "the Skip… button")
    wait_for(tab.driver, DETAILS, "the open Skip popover's details field", visible=True)
    tab.read_item(MIN_SECONDS + 0.1)  # so a leaked "1" would count as a choice, not a bounce
    type_when_ready(tab.driver, DETAILS, "1 and 2", "the details field to type into")
    wait_until(tab.driver, lambda d: wait_for(d, DETAILS, visible=True).get_attribute("value") == "1 and 2",
               "'1 and 2' in the details field")
    wait_until_settled(tab.driver)
    assert store.labels() == [] and tab.batch_on_screen() == batch

    # A choice by the "1" could still be a round trip away; skipping settles it: the skip is stored for this
    # item only if nothing labeled it first, and the server handles the session's messages in order.
    click_when_ready(tab.driver, ("xpath", "//button[.//*[contains(text(), 'Skip this item')]]"), "Skip this item")
    wait_until(tab.driver, lambda _d: store.labels(), "the skip to be stored")
    [label] = store.labels()
    assert label.batch_id == int(batch) and label.skipped and label.reason.endswith(": 1 and 2")


def test_a_labeler_who_opens_the_dashboard_url_sees_admins_only(run, server, tab):
    LabelingTab(tab.driver, server.url + "/dashboard").sign_in("ann", "ann-password")
    wait_for_text(tab.driver, "Admins only.")
    wait_until_settled(tab.driver)  # what is absent now is not merely still to come
    body = body_text(tab.driver)
    assert "Export" not in body and "Agreement" not in body and "Labelers" not in body


SYSTEM, BASELINE = "policy-x9", "zero-shot"
_SIDES = """return ['left', 'right'].map(side =>
  document.querySelector(`.rlhf-compare-text[data-side="${side}"] .rlhf-compare-body`).textContent);"""


@pytest.fixture
def compare_server(tmp_path):
    config_path, store = make_run(tmp_path / "runs", "compare", batches=0, labelers=[("ann", "ann-password", "labeler")])
    fill_store(store, [(PROMPT, GOOD[:1])] + [(f"Item {i} began", [f" end {i}."]) for i in range(3)])
    for i in range(4):
        store.add_comparison(f"q{i}", SYSTEM, BASELINE, f" a letter from her sister ({i}).", f" an old bus ticket ({i}).")
    with AppServer(config_path, log_path=tmp_path / "streamlit.log") as app_server:
        yield app_server, store


def test_judging_comparisons_with_the_keyboard_stores_a_b_or_tie(compare_server):
    server, store = compare_server
    with Chromium() as driver:
        tab = LabelingTab(driver, server.url + "/compare", page=COMPARE_PAGE)
        tab.sign_in("ann", "ann-password")
        shown = {}
        for step, key in enumerate("1232"):
            comparison = tab.wait_for_item()  # both sides and all three buttons (key 3 presses Tie)
            left, right = driver.execute_script(_SIDES)
            shown[int(comparison)] = (left, right, key)
            text = body_text(driver)
            assert SYSTEM not in text and BASELINE not in text and "policy" not in text
            if step == 0:
                assert "Compare" in text and "Dashboard" not in text and "Signed in as ann" in text
                save_screenshot(driver, ARTIFACTS / "compare_page.png")
            tab.read_item(MIN_SECONDS + 0.1)  # a person reads first; faster presses are dropped
            tab.press(key)  # returns once the next comparison (or the end) is on screen
        wait_for_text(driver, "Nothing left to compare")

    rows = {row.id: row for row in store.comparisons()}
    assert set(shown) == set(rows) and len(rows) == 4
    for cid, (left, right, key) in shown.items():
        row = rows[cid]
        assert {left, right} == {row.a_text, row.b_text}
        picked = {"1": left, "2": right}.get(key)
        expected = "tie" if picked is None else ("a" if picked == row.a_text else "b")
        assert (row.judge, row.winner) == ("ann", expected), (cid, left, right, key)


def test_a_judgement_pressed_on_a_page_left_open_across_a_server_restart_counts_once(compare_server, tmp_path):
    server, store = compare_server
    url = server.url
    with Chromium() as driver:
        tab = LabelingTab(driver, url + "/compare", page=COMPARE_PAGE)
        tab.sign_in("ann", "ann-password")
        first = int(tab.wait_for_item())
        server.stop()
        # The same port and store, a new server process: the open page reconnects by itself, the cookie
        # resumes the sign-in, and the first key press (which has no callback in the new process) counts.
        with AppServer(server.config_path, log_path=tmp_path / "second.log", port=int(url.rsplit(":", 1)[1])):
            assert int(tab.read_item(MIN_SECONDS + 0.1)) == first
            tab.press("3")
            assert int(tab.wait_for_item()) != first
    judged = [(row.id, row.judge, row.winner) for row in store.comparisons() if row.winner]
    assert judged == [(first, "ann", "tie")]


# About 500 SmolLM2 tokens of dialogue: the length of the summary tasks' queries.
LONG_DOCUMENT = "\n".join(f"#Person{1 + i % 2}#: On day {i} the ferry to the island left late again, and the "
                          f"harbour master said the engine had been repaired twice this month already." for i in range(22)) \
                + "\n\nTL;DR:"
_IN_VIEW = """const h = window.innerHeight;
const box = document.querySelector('.rlhf-compare-prompt');
const inView = el => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= h; };
const sides = [...document.querySelectorAll('.rlhf-compare-text')];
const buttons = [...document.querySelectorAll('button')].filter(b => /better|Tie/.test(b.innerText));
return {sides: sides.length, sidesInView: sides.every(inView), buttons: buttons.length, buttonsInView: buttons.every(inView),
        scrolls: box.scrollHeight > box.clientHeight, viewport: h};"""


def test_a_long_document_scrolls_in_its_box_and_both_summaries_stay_on_screen(tmp_path):
    config_path, store = make_run(tmp_path / "runs", "long", batches=0, labelers=[("ann", "ann-password", "labeler")])
    fill_store(store, [(LONG_DOCUMENT, [" The ferry was late."])])
    store.add_comparison("q0", SYSTEM, BASELINE, " The ferry ran late all month after two engine repairs.",
                         " Two people talk about a late ferry.")
    with AppServer(config_path, log_path=tmp_path / "streamlit.log") as server, Chromium(window="1280,800") as driver:
        tab = LabelingTab(driver, server.url + "/compare", page=COMPARE_PAGE)
        tab.sign_in("ann", "ann-password")
        tab.wait_for_item()
        wait_until_settled(driver)
        layout = driver.execute_script(_IN_VIEW)
        save_screenshot(driver, ARTIFACTS / "compare_page_long_document.png")
        assert layout["sides"] == 2 and layout["buttons"] == 3, layout
        assert layout["scrolls"], layout  # the document scrolls inside its box instead of pushing the texts down
        assert layout["sidesInView"] and layout["buttonsInView"], layout
        driver.execute_script("document.querySelector('.rlhf-compare-prompt').scrollTop = 1e6")
        assert "TL;DR:" in driver.execute_script("return document.querySelector('.rlhf-compare-prompt').innerText")
        tab.read_item(MIN_SECONDS + 0.1)
        tab.press("1")  # the keys still reach the buttons after the labeler scrolled the document
        wait_for_text(driver, "Nothing left to compare")
    [row] = store.comparisons()
    assert row.judge == "ann" and row.winner in ("a", "b")


def test_a_sign_in_survives_a_reload_and_a_server_restart_but_not_a_sign_out(run, tmp_path):
    config_path, store = run
    url = None
    with Chromium() as driver:
        with AppServer(config_path, log_path=tmp_path / "first.log") as server:
            url = server.url
            tab = LabelingTab(driver, url)
            tab.sign_in("ann", "ann-password")
            first = tab.wait_for_item()
            driver.refresh()  # a reload: a new Streamlit session, the same browser
            assert tab.wait_for_item() == first and "Signed in as ann" in body_text(driver)
        # The same port and store, a new server process: the open page reconnects by itself, and the
        # browser's cookie resumes the sign-in, so the first key press stores a label.
        with AppServer(config_path, log_path=tmp_path / "second.log", port=int(url.rsplit(":", 1)[1])):
            assert tab.read_item(MIN_SECONDS + 0.1) == first and "Signed in as ann" in body_text(driver)
            tab.press("2")
            assert [label.batch_id for label in store.labels()] == [int(first)]
            driver.get(url)  # and a fresh page load on the restarted server
            assert tab.wait_for_item() != first and "Signed in as ann" in body_text(driver)
            click_when_ready(driver, ("xpath", "//button[.//*[contains(text(), 'Sign out')]]"), "the Sign out button")
            wait_for(driver, "input[aria-label='Password']")
            driver.refresh()
            wait_for(driver, "input[aria-label='Password']")  # signed out stays signed out
            assert "Signed in as" not in body_text(driver)
    assert "ann-password" not in (tmp_path / "first.log").read_text()


_MAIN_WIDTH = "return document.querySelector('[data-testid=\"stMainBlockContainer\"]').getBoundingClientRect().width;"


def test_the_dashboard_stays_wide_after_a_click(tmp_path):
    config_path, _ = make_run(tmp_path / "runs", "wide", batches=2, labelers=[("root", "root-password", "admin")])
    with AppServer(config_path, log_path=tmp_path / "streamlit.log") as app_server, Chromium() as driver:
        LabelingTab(driver, app_server.url + "/dashboard").sign_in("root", "root-password")
        wait_for_text(driver, "Export labels")
        wait_until_settled(driver)
        before = driver.execute_script(_MAIN_WIDTH)
        click_when_ready(driver, ("xpath", "//button[.//*[contains(text(), 'Export labels')]]"), "Export labels")
        wait_for_text(driver, "best_of_4.jsonl")
        wait_until_settled(driver)
        after = [driver.execute_script(_MAIN_WIDTH)]
        type_when_ready(driver, "input[aria-label='Name']", "cat")
        click_when_ready(driver, ("xpath", "//button[.//*[text()='Add']]"), "Add")
        wait_for_text(driver, "One-time password for cat")
        wait_until_settled(driver)
        after.append(driver.execute_script(_MAIN_WIDTH))
        save_screenshot(driver, ARTIFACTS / "dashboard_team.png")
    after = set(after)
    assert before > 1000 and after == {before}  # the 1280 px window's width, not Streamlit's 736 px column


# Loaded by the server's interpreter at startup (sitecustomize): every store counts as large, and the
# background reading of the figures waits for a file the test writes, so the page is seen without them.
_HOLD_THE_READING = '''
import os, time
from labeling_app import dashboard_figures

dashboard_figures.SYNC_LABELS = 0
_read = dashboard_figures.read

def _held(*args):
    while not os.path.exists(os.environ["RLHF_TEST_RELEASE"]):
        time.sleep(0.05)
    return _read(*args)

dashboard_figures.read = _held
'''


def test_a_large_stores_dashboard_fills_in_its_figures_without_a_reload(tmp_path, monkeypatch):
    config_path, store = make_run(tmp_path / "runs", "large", batches=2, labelers=[("root", "root-password", "admin")])
    store.submit(store.labeler("root").id, 1, choice=2, shown_order=[0, 1, 2, 3], seconds=4.0)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(_HOLD_THE_READING)
    release = tmp_path / "release"
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(hooks), str(ROOT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("RLHF_TEST_RELEASE", str(release))
    with AppServer(config_path, log_path=tmp_path / "streamlit.log") as app_server, Chromium() as driver:
        LabelingTab(driver, app_server.url + "/dashboard").sign_in("root", "root-password")
        wait_for_text(driver, "Computing the figures of 1 label rows")
        assert "Choices by position" not in body_text(driver) and "Export labels" in body_text(driver)
        release.touch()
        wait_for_text(driver, "Choices by position on screen")  # the page's own polling drew them: no reload
        assert "Computing the figures" not in body_text(driver)
