"""Gold items in a real browser: `streamlit run` plus headless Chromium through selenium.

A gold item must not be told apart from an ordinary one on the page: the DOM of each item after the first
(the instructions fold after the first label) is compared, tags, attributes and text, once the digits
(batch ids, numbers in the texts, progress, generated ids) and the per-item random tokens of the widget
keys are masked. The fixture's texts differ only in their digits, so any difference that is left, a
class, an id, a word, would tell. Saves tests/artifacts/gold_item.png.
"""

import difflib
import re
from pathlib import Path

import pytest

from labeling_app.browser import AppServer, Chromium, LabelingTab, save_screenshot, wait_until_settled
from labeling_app.synthetic import fill_store, make_run
from rlhf.config.sections import LabelingConfig

pytestmark = pytest.mark.usefixtures("browser")  # conftest: skipped without Chromium, failed under CI=true

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
MIN_SECONDS = LabelingConfig().min_seconds
GOLD = {2, 3}  # of batches 1-4
# Every element of the page as text: tag, sorted attributes, children; white space at the ends trimmed.
_DOM = """
const sig = node => {
  if (node.nodeType === Node.TEXT_NODE) return node.textContent.trim() ? JSON.stringify(node.textContent.trim()) : '';
  if (node.nodeType !== Node.ELEMENT_NODE) return '';
  const attrs = [...node.attributes].map(a => `${a.name}=${JSON.stringify(a.value)}`).sort().join(' ');
  return `<${node.tagName} ${attrs}>` + [...node.childNodes].map(sig).filter(Boolean).join('\\n') + `</${node.tagName}>`;
};
return sig(document.body);"""


@pytest.fixture
def server(tmp_path):
    config_path, store = make_run(tmp_path / "runs", "gold", batches=0, labelers=[("ann", "ann-password", "labeler")])
    config_path.write_text(config_path.read_text().replace("labelers_per_batch: 1", "labelers_per_batch: 1\n  gold_rate: 0.5"))
    fill_store(store, [(f"Item {i} began", [f" end {i}.{j}." for j in range(4)]) for i in range(1, 5)])
    store.mark_gold([(batch, 1) for batch in GOLD], "app:root")
    with AppServer(config_path, log_path=tmp_path / "streamlit.log") as app_server:
        yield app_server, store


def page_structure(driver) -> str:
    wait_until_settled(driver)
    dom = driver.execute_script(_DOM)
    return re.sub(r"\d+", "N", re.sub(r"[0-9a-f]{32}", "TOKEN", dom))


def test_a_gold_item_looks_exactly_like_an_ordinary_one(server):
    app_server, store = server
    structures = {}
    with Chromium() as driver:
        tab = LabelingTab(driver, app_server.url)
        tab.sign_in("ann", "ann-password")
        for step in range(4):
            batch = int(tab.read_item(MIN_SECONDS + 0.1))
            if step:  # the first item shows the instructions open; every later one folded
                structures[batch] = page_structure(driver)
                if batch in GOLD and not (ARTIFACTS / "gold_item.png").exists():
                    save_screenshot(driver, ARTIFACTS / "gold_item.png")
            tab.press("2")
        tab.wait_until(lambda d: "All done" in d.find_element("tag name", "body").text, "All done")
    # Of 2 gold and 2 ordinary batches, the three items after the first always hold both kinds.
    gold = [structures[b] for b in structures if b in GOLD]
    ordinary = [structures[b] for b in structures if b not in GOLD]
    assert gold and ordinary
    for other in gold + ordinary[1:]:
        assert other == ordinary[0], "\n".join(difflib.unified_diff(ordinary[0].splitlines(), other.splitlines(), lineterm="", n=1))
    assert len(ordinary[0]) > 2000 and ordinary[0].count("rlhf-option") == 4  # the whole page was compared
    # Each label is stored, gold or not, and scored against the known best.
    assert sorted(label.batch_id for label in store.labels()) == [1, 2, 3, 4]
    gold_choices = [label.choice for label in store.labels() if label.batch_id in GOLD]
    assert store.gold_tallies() == {"ann": (sum(choice == 1 for choice in gold_choices), 2)}
