"""The labeling page in a real browser (`streamlit run` + headless Chromium): at 1280x800 a long prompt
shows its end and the whole item fits without scrolling, the prompt opens on its control, the keys S,
F and I work but not while typing a reason, and the highlight marks only the words not all others share.
Saves tests/artifacts/label_page_long_prompt.png. Skipped only without Chromium (failed under CI=true).
"""

import pytest
from selenium.webdriver.common.keys import Keys
from test_labeling_browser import ARTIFACTS, DETAILS, GOOD, MIN_SECONDS, PROMPT

from labeling_app import render
from labeling_app.browser import (
    AppServer,
    Chromium,
    LabelingTab,
    click_when_ready,
    save_screenshot,
    type_when_ready,
    wait_for,
    wait_for_text,
    wait_until,
    wait_until_settled,
)
from labeling_app.differences import segments
from labeling_app.synthetic import fill_store, make_run

pytestmark = pytest.mark.usefixtures("browser")  # conftest: skipped without Chromium, failed under CI=true

# A 9,600-character dialogue to summarise, and four summaries of about 75 tokens (the tldr task's length).
_LINES = ["the ferry to the island left late again", "the harbour master said the engine had been repaired twice",
          "passengers waited on the quay with their bags while the gulls circled"]
LONG_PROMPT = "\n".join(f"#Person{1 + i % 2}#: On day {i} {_LINES[i % 3]}." for i in range(140))[:9580] + "\n\nTL;DR:"
_SAME = (" The harbour master says the engine was repaired twice already this month, and the passengers who wait on "
         "the quay with their bags are running out of patience with the crossing.")
SUMMARIES = [" The ferry keeps running late because its engine broke twice this month, and passengers are tired of <b>waiting</b>." + _SAME,
             " The ferry keeps running late; its engine was repaired twice and the islanders say this winter is the longest." + _SAME,
             " Two people complain about the late ferry and the long winter, while the harbour master blames the engine." + _SAME,
             " The ferry was late again because the engine broke, and the passengers waited with their bags on the quay." + _SAME]
INSTRUCTIONS = ".st-key-instructions"
# The bottom of each thing the labeler needs, against the window's height.
_LAYOUT = """const bottom = el => el.getBoundingClientRect().bottom;
const buttons = [...document.querySelectorAll('[data-testid="stButton"] button')];
const named = text => buttons.filter(b => b.innerText.split('\\n')[0].trim() === text);
return {height: window.innerHeight, scrolled: window.scrollY,
        options: [...document.querySelectorAll('[class*="st-key-option_"]')].map(bottom),
        best: named('Best').map(bottom), skip: named('Skip').map(bottom), flag: named('Flag prompt').map(bottom),
        legend: [...document.querySelectorAll('[data-testid="stCaptionContainer"]')].filter(c => c.innerText.startsWith('Keys:')).map(bottom),
        prompt: bottom(document.querySelector('.rlhf-prompt'))};"""
_PROMPT = """const p = document.querySelector('.rlhf-prompt'), d = p.querySelector('details');
const head = d.querySelector(':scope > span');
return {open: d.open, headShown: head.checkVisibility(), head: head.textContent,
        end: p.querySelector('.rlhf-prompt-end').textContent, shown: p.innerText};"""


def key(driver, name: str) -> None:
    """A key pressed on the page (not in a text box)."""
    driver.find_element("tag name", "body").send_keys(name)


def absent(driver, selector: str, what: str) -> None:
    wait_until(driver, lambda d: not d.find_elements("css selector", selector), f"{what} to go away")


def test_at_1280x800_a_long_prompt_shows_its_end_and_the_whole_item_fits(tmp_path):
    config_path, store = make_run(tmp_path / "runs", "long", batches=0, labelers=[("ann", "ann-password", "labeler")])
    fill_store(store, [(LONG_PROMPT, SUMMARIES)])
    with AppServer(config_path, log_path=tmp_path / "streamlit.log") as server, Chromium(window="1280,800") as driver:
        tab = LabelingTab(driver, server.url)
        tab.sign_in("ann", "ann-password")
        tab.wait_for_item()
        wait_for(driver, INSTRUCTIONS, "the instructions, open before the first label")
        key(driver, "i")
        absent(driver, INSTRUCTIONS, "the instructions (key I)")
        tab.wait_for_item()
        layout = driver.execute_script(_LAYOUT)
        save_screenshot(driver, ARTIFACTS / "label_page_long_prompt.png")
        assert len(layout["options"]) == len(layout["best"]) == 4 and layout["skip"] and layout["flag"] and layout["legend"], layout
        needed = layout["options"] + layout["best"] + layout["skip"] + layout["flag"] + layout["legend"]
        assert layout["scrolled"] == 0 and max(needed) <= layout["height"], layout  # all on screen, nothing scrolled

        head, end = render.prompt_end(LONG_PROMPT)
        prompt = driver.execute_script(_PROMPT)
        assert not prompt["open"] and not prompt["headShown"] and prompt["end"] == end  # folded to its end
        assert prompt["shown"].rstrip().endswith("TL;DR:") and "On day 0 " not in prompt["shown"]
        click_when_ready(driver, ".rlhf-prompt summary", "the control that shows the whole prompt")
        wait_until(driver, lambda d: d.execute_script(_PROMPT)["headShown"], "the beginning of the prompt")
        prompt = driver.execute_script(_PROMPT)
        assert prompt["open"] and prompt["head"] + prompt["end"] == LONG_PROMPT and "On day 0 " in prompt["shown"]

        click_when_ready(driver, "[data-testid='stCheckbox'] label", "the Highlight differences toggle")
        wait_for(driver, "mark.rlhf-diff", "the highlighted words")
        wait_until_settled(driver)
        texts, marks = tab.shown_texts(), driver.execute_script(
            "return [...document.querySelectorAll('.rlhf-option')].sort((a, b) => a.dataset.position - b.dataset.position)"
            ".map(o => [...o.querySelectorAll('mark.rlhf-diff')].map(m => m.textContent));")
        assert marks == [[text for text, marked in runs if marked] for runs in segments(texts)]
        assert not any("harbour master says" in m for option in marks for m in option)  # the shared sentence is not marked
        assert any("<b>waiting</b>." in m for option in marks for m in option)  # marked, and shown as typed
        assert driver.execute_script("return document.querySelectorAll('.rlhf-option b').length") == 0

        tab.read_item(MIN_SECONDS + 0.1)
        tab.press("2")  # the number keys still choose
        wait_for_text(driver, "All done")
    [label] = store.labels()
    assert label.choice == label.shown_order[1]


@pytest.fixture
def page(tmp_path):
    """A signed-in labeler's page on a run of three items, and the run's store."""
    config_path, store = make_run(tmp_path / "runs", "keys", batches=0, labelers=[("ann", "ann-password", "labeler")])
    fill_store(store, [(PROMPT, GOOD)] + [(f"Item {i} began", [f" end {i}.{j}." for j in range(4)]) for i in range(2)])
    with AppServer(config_path, log_path=tmp_path / "streamlit.log") as server, Chromium() as driver:
        tab = LabelingTab(driver, server.url)
        tab.sign_in("ann", "ann-password")
        yield tab, store


def test_s_f_and_i_work_from_the_page_but_not_from_the_reason_box(page):
    tab, store = page
    first = tab.wait_for_item()
    driver = tab.driver
    wait_for(driver, INSTRUCTIONS, "the instructions, open before the first label")
    key(driver, "i")
    absent(driver, INSTRUCTIONS, "the instructions (key I)")

    key(driver, "s")
    wait_for(driver, DETAILS, "the skip form's details field", visible=True)
    wait_for_text(driver, "Why skip this item?")
    form, options = driver.execute_script(
        "return [document.querySelector('[data-testid=\"stForm\"]').getBoundingClientRect().bottom,"
        " Math.min(...[...document.querySelectorAll('.rlhf-option')].map(o => o.getBoundingClientRect().top))];")
    assert form <= options  # the form pushes the item down; it covers nothing

    type_when_ready(driver, DETAILS, "sfiu", "the details field to type into")  # every letter a key of the page
    wait_until(driver, lambda d: wait_for(d, DETAILS, visible=True).get_attribute("value") == "sfiu", "'sfiu' in the details field")
    tab.read_item(MIN_SECONDS + 0.1)
    # Had a letter reached the page, the skip form would be gone (S, F, U) or the instructions back (I);
    # the server runs this session's events in order, so the skip below comes after any of them.
    click_when_ready(driver, ("xpath", "//button[.//*[contains(text(), 'Skip this item')]]"), "Skip this item")
    wait_until(driver, lambda _d: store.labels(), "the skip to be stored")
    [skipped] = store.labels()
    assert skipped.batch_id == int(first) and skipped.skipped and skipped.reason.endswith(": sfiu")
    # The label is stored by the click's callback before the run that draws the next item has finished.
    tab.wait_until(lambda _d: tab.item_on_screen() not in (None, first), "the next item after the skip")
    second = tab.wait_for_item()
    assert second != first and not driver.find_elements("css selector", INSTRUCTIONS)

    key(driver, "f")
    wait_for_text(driver, "What is wrong with the prompt?")
    type_when_ready(driver, DETAILS, Keys.ESCAPE, "the details field")  # Escape closes the form, also from its field
    absent(driver, DETAILS, "the flag form (Escape)")
    key(driver, "f")
    wait_for(driver, DETAILS, "the flag form's details field", visible=True)
    tab.read_item(MIN_SECONDS + 0.1)
    click_when_ready(driver, ("xpath", "//button[.//*[contains(text(), 'Flag the prompt')]]"), "Flag the prompt")
    wait_until(driver, lambda _d: len(store.labels()) == 2, "the flag to be stored")
    flagged = next(label for label in store.labels() if label.batch_id == int(second))
    assert flagged.flagged and flagged.reason == "Offensive or harmful"

    key(driver, "i")
    wait_for(driver, INSTRUCTIONS, "the instructions again (key I)")
