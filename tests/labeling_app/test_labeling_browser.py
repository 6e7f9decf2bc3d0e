"""The labeling app in a real browser: `streamlit run` plus Debian's headless Chromium through selenium.

Labels several items with the keyboard (keys 1-4 sent to the page), then checks the stored rows; judges
comparisons on the Compare page with keys 1-3 the same way. Saves tests/artifacts/labeling_page.png and
tests/artifacts/compare_page.png. Skipped only where /usr/bin/chromium or chromedriver is absent.
"""

import time
from pathlib import Path

import pytest

from labeling_app import compare_page, label_page
from labeling_app.browser import AppServer, Chromium, LabelingTab, browser_missing
from labeling_app.synthetic import fill_store, make_run

pytestmark = pytest.mark.skipif(browser_missing() is not None, reason=f"no browser: {browser_missing()}")

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
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


def press_after_reading(tab: LabelingTab, key: str) -> None:
    time.sleep(label_page.BOUNCE_SECONDS + 0.1)  # a person reads first; faster presses are dropped as bounces
    tab.press(key)


def test_labeling_with_the_keyboard_stores_what_was_on_screen(run, server, tab):
    _, store = run
    tab.sign_in("ann", "ann-password")
    first = tab.wait_for_item()
    body = tab.driver.find_element("tag name", "body").text
    assert "Dashboard" not in body and "Signed in as ann" in body  # a labeler's menu has no dashboard
    time.sleep(0.5)  # let the fonts settle for the screenshot
    ARTIFACTS.mkdir(exist_ok=True)
    tab.driver.save_screenshot(str(ARTIFACTS / "labeling_page.png"))

    shown = {}
    for key in "3142":
        batch, texts = tab.batch_on_screen(), tab.shown_texts()
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
        assert label.seconds >= label_page.BOUNCE_SECONDS and not label.skipped
    assert NASTY[0] in {text for texts, _ in shown.values() for text in texts}  # the nasty batch was seen


def _check_literal(tab: LabelingTab) -> None:
    """Model text with HTML and markdown is on screen as typed, and made no elements."""
    text = tab.driver.execute_script("return [...document.querySelectorAll('.rlhf-option')].map(e => e.innerText).join('\\n')")
    for raw in NASTY:
        assert raw.strip() in text
    made = tab.driver.execute_script(
        "return document.querySelectorAll('.rlhf-option script, .rlhf-option strong, .rlhf-option a, .rlhf-option img').length")
    assert made == 0


def test_typing_a_digit_in_the_skip_details_does_not_choose(run, server, tab):
    _, store = run
    tab.sign_in("ann", "ann-password")
    batch = tab.wait_for_item()
    tab.driver.find_element("xpath", "//button[.//*[contains(text(), 'Skip')]]").click()
    details = tab.wait_for(lambda d: [e for e in d.find_elements("css selector", "input[aria-label='Details (optional)']")
                                      if e.is_displayed()])
    time.sleep(label_page.BOUNCE_SECONDS + 0.1)
    details[0].send_keys("1 and 2")
    time.sleep(1.0)
    assert store.labels() == [] and tab.batch_on_screen() == batch


def test_a_labeler_who_opens_the_dashboard_url_sees_admins_only(run, server, tab):
    tab.driver.get(server.url + "/dashboard")
    tab.wait_for(lambda d: d.find_elements("css selector", "input[aria-label='Name']"))
    tab.driver.find_element("css selector", "input[aria-label='Name']").send_keys("ann")
    tab.driver.find_element("css selector", "input[aria-label='Password']").send_keys("ann-password\n")
    tab.wait_for(lambda d: "Admins only." in d.find_element("tag name", "body").text)
    body = tab.driver.find_element("tag name", "body").text
    assert "Export" not in body and "Agreement" not in body and "Labelers" not in body


SYSTEM, BASELINE = "policy-x9", "zero-shot"
_COMPARISON_ON_SCREEN = "const el = document.querySelector('[data-comparison]'); return el ? el.dataset.comparison : null;"
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
        tab = LabelingTab(driver, server.url + "/compare")
        tab.sign_in("ann", "ann-password")
        body = lambda: driver.find_element("tag name", "body").text  # noqa: E731
        shown = {}
        for step, key in enumerate("1232"):
            comparison = tab.wait_for(lambda d: d.execute_script(_COMPARISON_ON_SCREEN))
            tab.wait_for(lambda d: d.execute_script(
                "return [...document.querySelectorAll('button')].filter(b => b.innerText.includes('is better')).length") == 2)
            left, right = driver.execute_script(_SIDES)
            shown[int(comparison)] = (left, right, key)
            text = body()
            assert SYSTEM not in text and BASELINE not in text and "policy" not in text
            if step == 0:
                assert "Compare" in text and "Dashboard" not in text and "Signed in as ann" in text
                ARTIFACTS.mkdir(exist_ok=True)
                time.sleep(0.5)  # let the fonts settle for the screenshot
                driver.save_screenshot(str(ARTIFACTS / "compare_page.png"))
            time.sleep(compare_page.BOUNCE_SECONDS + 0.1)  # a person reads first; faster presses are dropped
            driver.find_element("tag name", "body").send_keys(key)
            tab.wait_for(lambda d: d.execute_script(_COMPARISON_ON_SCREEN) not in (comparison,)
                         or "Nothing left to compare" in body())
        tab.wait_for(lambda d: "Nothing left to compare" in body())

    rows = {row.id: row for row in store.comparisons()}
    assert set(shown) == set(rows) and len(rows) == 4
    for cid, (left, right, key) in shown.items():
        row = rows[cid]
        assert {left, right} == {row.a_text, row.b_text}
        picked = {"1": left, "2": right}.get(key)
        expected = "tie" if picked is None else ("a" if picked == row.a_text else "b")
        assert (row.judge, row.winner) == ("ann", expected), (cid, left, right, key)
