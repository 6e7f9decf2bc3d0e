"""The locked-down app in a real browser (`streamlit run` + headless Chromium): every page asks for a
sign-in first, and model text holding HTML, a script, markdown links and images is shown as typed on
the Label and Compare pages: no alert, no element made from it. Skipped only without Chromium (failed under CI=true)."""

import pytest

from labeling_app.browser import COMPARE_PAGE, AppServer, Chromium, LabelingTab, wait_for, wait_until_settled
from labeling_app.synthetic import fill_store, make_run

pytestmark = pytest.mark.usefixtures("browser")  # conftest: skipped without Chromium, failed under CI=true

SCRIPT, IMG, LINK, IMAGE = "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[link](http://x)", "![img](http://x)"
HOSTILE = [f" {SCRIPT} one.", f" {IMG} two.", f" {LINK} three.", f" {IMAGE} four."]
PROMPT = f"Say <b>hi</b> {IMG} and"
# Any alert() the page makes is recorded instead of opening a dialog (installed before the page's scripts).
RECORD_ALERTS = "window.__alerts = []; window.alert = (m) => window.__alerts.push(String(m));"
MADE = """return document.querySelectorAll(
  'img[src="x"], img[src="http://x"], a[href="http://x"], [onerror], ' + arguments[0] + ' script, '
  + arguments[0] + ' img, ' + arguments[0] + ' a, ' + arguments[0] + ' b, ' + arguments[0] + ' strong').length"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("locked")
    config_path, store = make_run(tmp_path / "runs", "locked", batches=0, labelers=[("ann", "ann-password", "labeler")])
    fill_store(store, [(PROMPT, HOSTILE)], prefix="hostile")
    store.add_comparison("hostile0", "policy", "zero-shot", f" {IMG} {LINK} left or right", f" {SCRIPT} {IMAGE} other")
    with AppServer(config_path, log_path=tmp_path / "streamlit.log") as app_server:
        yield app_server


@pytest.fixture(scope="module")
def driver(server):  # one server and one browser for the module; each page load is a new session
    with Chromium() as chromium:
        chromium.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_ALERTS})
        yield chromium


def body(driver) -> str:
    return driver.find_element("tag name", "body").text


def no_alert(driver) -> bool:
    from selenium.common.exceptions import NoAlertPresentException

    try:
        driver.switch_to.alert  # noqa: B018 -- reading the property raises when no alert is open
    except NoAlertPresentException:
        return driver.execute_script("return window.__alerts") == []
    return False


@pytest.mark.parametrize("path", ["/", "/label", "/compare", "/dashboard"])
def test_every_url_asks_for_a_sign_in_first(server, driver, path):
    driver.get(server.url + path)
    wait_for(driver, "input[aria-label='Password']", "the sign-in form")
    wait_until_settled(driver)  # what is absent now is not merely still to come
    text = body(driver)
    assert "Sign in" in text
    for hidden in ("left or right", "one.", "Dashboard", "Export", "Compare", "Signed in as"):
        assert hidden not in text
    assert not driver.find_elements("css selector", "[data-batch], [data-comparison]")


def test_model_text_is_inert_on_the_label_and_compare_pages(server, driver):
    tab = LabelingTab(driver, server.url)
    tab.sign_in("ann", "ann-password")
    tab.wait_for_item()
    options = driver.execute_script("return [...document.querySelectorAll('.rlhf-option')].map(e => e.innerText).join('\\n')")
    for raw in (*(h.strip() for h in HOSTILE), "<b>hi</b>"):
        assert raw in options  # character for character, as the model wrote it
    assert driver.execute_script(MADE, ".rlhf-option") == 0
    assert no_alert(driver)

    tab = LabelingTab(driver, server.url + "/compare", page=COMPARE_PAGE)
    driver.get(tab.url)  # a new page load is a new session, which the sign-in cookie resumes
    tab.wait_for_item()  # both sides, drawn by a finished run
    sides = driver.execute_script("return [...document.querySelectorAll('.rlhf-compare-text')].map(e => e.innerText).join('\\n')")
    for raw in (SCRIPT, IMG, LINK, IMAGE):
        assert raw in sides
    assert driver.execute_script(MADE, ".rlhf-compare-text") == 0
    assert no_alert(driver)
