"""Drive the app in a real browser, for the browser tests and the latency benchmark.

`AppServer` runs `streamlit run labeling_app/app.py` as a subprocess on a free loopback port;
`Chromium` opens the headless Chromium on the PATH through selenium (imported here, lazily: it is a
test-time tool, not a dependency of the app); `LabelingTab` signs in and labels with the keyboard.

Streamlit draws everything asynchronously, and on a loaded machine a rerun takes seconds, so nothing
here waits a fixed time: `wait_for`, `click_when_ready`, `type_when_ready`, `wait_for_text` and
`wait_until_settled` poll for what a test needs next (up to WAIT_SECONDS) and name it on timeout.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

APP = Path(__file__).resolve().parent / "app.py"
# Found on the PATH, as .ci/run checks for them (`command -v chromium`, `command -v chromedriver`).
CHROMIUM, CHROMEDRIVER = "chromium", "chromedriver"
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update", "--no-first-run",
                  "--disable-sync")
WAIT_SECONDS = 60.0  # one Streamlit rerun can take seconds on a loaded 2-core CI machine; failing sooner buys nothing
# The page records when a key goes down, in the capture phase (before Streamlit's own handler).
_KEY_CLOCK = ("if (!window.__rlhfKeyClock) { window.__rlhfKeyClock = true;"
              " window.addEventListener('keydown', () => { window.__rlhfKeyAt = performance.now(); }, true); }")
# Resolves with the milliseconds from that key press to the first frame painted with another item.
_WAIT_NEXT = """
const [before, marker, doneText, done] = arguments;
const item = () => { const el = document.querySelector(`[data-${marker}]`); return el ? el.dataset[marker] : null; };
const poll = () => {
  if ((item() !== null && item() !== before) || document.body.innerText.includes(doneText)) {
    requestAnimationFrame(() => done(performance.now() - window.__rlhfKeyAt));
  } else { requestAnimationFrame(poll); }
};
poll();
"""
# Streamlit marks the app root with its script run's state and greys out (data-stale) the elements of
# the previous run until the current run replaces or removes them.
_SETTLED = """const app = document.querySelector('[data-testid="stApp"]');
return !!app && app.dataset.testScriptState === 'notRunning' && app.dataset.testConnectionState === 'CONNECTED'
  && !document.querySelector('[data-stale="true"]');"""
_BUTTON_TEXTS = "[...document.querySelectorAll('[data-testid=\"stButton\"], [data-testid=\"stPopover\"]')].map(b => b.innerText)"


def browser_missing() -> Optional[str]:
    """Why a browser test cannot run here, or None when it can."""
    missing = [name for name in (CHROMIUM, CHROMEDRIVER) if shutil.which(name) is None]
    if missing:
        return f"{' and '.join(missing)} not on the PATH (apt-get install chromium chromium-driver)"
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


def _on_path(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"no browser: {browser_missing()}")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_healthy(url: str, process: subprocess.Popen, timeout: float, log=lambda: "") -> None:
    """Return once the Streamlit server at `url` answers its health check; raise if `process` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"streamlit did not answer within {timeout:.0f} s:\n{log()}")


class AppServer:
    """`streamlit run` of the app for one run config; a context manager that always stops it."""

    def __init__(self, config_path: Path, log_path: Optional[Path] = None, startup_s: float = 60.0,
                 port: Optional[int] = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path, self.startup_s = Path(config_path), startup_s
        self.log_path = log_path or Path(tempfile.gettempdir()) / f"streamlit-{self.port}.log"
        self.process: Optional[subprocess.Popen] = None

    def __enter__(self) -> "AppServer":
        cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
               "--server.address", "127.0.0.1", "--server.port", str(self.port),
               "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal"]
        env = {**os.environ, "RLHF_CONFIG": str(self.config_path)}
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_until_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

    def _wait_until_healthy(self) -> None:
        wait_until_healthy(self.url, self.process, self.startup_s, self.log)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Chromium:
    """A headless Chromium with its own throw-away profile; a context manager that always quits it."""

    def __init__(self, window: str = "1280,1000"):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        options = webdriver.ChromeOptions()
        options.binary_location = _on_path(CHROMIUM)
        for flag in (*CHROMIUM_FLAGS, f"--window-size={window}", f"--user-data-dir={self.profile}"):
            options.add_argument(flag)
        try:
            self.driver = webdriver.Chrome(service=Service(_on_path(CHROMEDRIVER)), options=options)
        except BaseException:
            shutil.rmtree(self.profile, ignore_errors=True)
            raise

    def __enter__(self):
        return self.driver

    def __exit__(self, *_exc) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


# -- waiting for what Streamlit draws. Everything on the page arrives asynchronously (after a
# websocket round trip and a script run), so a test finds, clicks or reads an element only once it
# is there; on timeout the error names what was awaited and what the page showed instead.

def _locator(locator) -> tuple[str, str]:
    """A CSS selector, or a (By, value) pair such as ("xpath", "//button")."""
    return ("css selector", locator) if isinstance(locator, str) else tuple(locator)


def _page_summary(driver) -> str:
    try:
        state = driver.execute_script(
            "const app = document.querySelector('[data-testid=\"stApp\"]');"
            " return [app ? app.dataset.testScriptState : null, document.body ? document.body.innerText : ''];")
        return f"page {driver.current_url} (script {state[0]}) showed: {' '.join(state[1].split())[:400]!r}"
    except Exception as error:  # the summary must never hide the timeout it explains
        return f"page unreadable ({type(error).__name__})"


def wait_until(driver, condition, what: str, timeout: float = WAIT_SECONDS):
    """condition(driver)'s first truthy value, polled; a TimeoutException naming `what` if none comes."""
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    # A rerun can replace an element between finding and reading it: that is "not yet", not a failure.
    wait = WebDriverWait(driver, timeout, poll_frequency=0.05, ignored_exceptions=(StaleElementReferenceException,))
    try:
        return wait.until(condition)
    except TimeoutException:
        raise TimeoutException(f"waited {timeout:.0f} s for {what}; {_page_summary(driver)}") from None


def wait_for(driver, locator, what: Optional[str] = None, visible: bool = False, timeout: float = WAIT_SECONDS):
    """The first element `locator` finds, once there is one (and, with `visible`, once one is displayed)."""
    by, value = _locator(locator)

    def found(d):
        return next((e for e in d.find_elements(by, value) if not visible or e.is_displayed()), None)

    return wait_until(driver, found, what or f"{value!r}{' displayed' if visible else ''}", timeout)


def _act_when_ready(driver, locator, act, what: str, timeout: float) -> None:
    """act(element) on the first displayed, enabled element, retried while the browser refuses it."""
    from selenium.common.exceptions import ElementClickInterceptedException, ElementNotInteractableException, StaleElementReferenceException

    by, value = _locator(locator)

    def done(d) -> bool:
        for element in d.find_elements(by, value):
            if element.is_displayed() and element.is_enabled():
                try:
                    act(element)
                    return True
                # Raised before the action happens: covered mid-animation, or replaced by a rerun.
                except (ElementClickInterceptedException, ElementNotInteractableException, StaleElementReferenceException):
                    return False
        return False

    wait_until(driver, done, what, timeout)


def click_when_ready(driver, locator, what: Optional[str] = None, timeout: float = WAIT_SECONDS) -> None:
    """Click the element once it is displayed and enabled."""
    _act_when_ready(driver, locator, lambda e: e.click(), what or f"{_locator(locator)[1]!r} to click", timeout)


def type_when_ready(driver, locator, text: str, what: Optional[str] = None, timeout: float = WAIT_SECONDS) -> None:
    """Type into the element once it is displayed and enabled (keys sent before it exists are lost)."""
    _act_when_ready(driver, locator, lambda e: e.send_keys(text), what or f"{_locator(locator)[1]!r} to type into", timeout)


def body_text(driver) -> str:
    return driver.find_element("tag name", "body").text


def wait_for_text(driver, text: str, timeout: float = WAIT_SECONDS) -> None:
    wait_until(driver, lambda d: text in body_text(d), f"{text!r} on the page", timeout)


def wait_until_settled(driver, timeout: float = WAIT_SECONDS) -> None:
    """Streamlit's script run is over and nothing from an earlier run is left on the page.

    Call it after something of the awaited run is on screen: before a rerun starts, the page looks
    settled too. Then checks that something is *absent* are not fooled by a page still being drawn.
    """
    wait_until(driver, lambda d: d.execute_script(_SETTLED), "the script run to finish (no stale elements)", timeout)


def save_screenshot(driver, path: Path, timeout: float = WAIT_SECONDS) -> None:
    """A screenshot of the finished page, once its web fonts are in (else the text is drawn in a fallback font)."""
    wait_until_settled(driver, timeout)
    wait_until(driver, lambda d: d.execute_script("return document.fonts.status === 'loaded'"), "the web fonts", timeout)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))


@dataclass(frozen=True)
class Page:
    """A page that shows one item at a time, as a test sees it."""

    marker: str  # the data attribute every element of the item on screen carries, holding its id
    ready: str  # JavaScript: true once all of the item's texts and the buttons its keys press are drawn
    done: str  # the text shown when nothing is left


LABEL_PAGE = Page("batch", """
const options = document.querySelectorAll('.rlhf-option').length;
const best = [...document.querySelectorAll('[data-testid="stButton"]')].filter(b => b.innerText.startsWith('Best')).length;
const skip = [...document.querySelectorAll('[data-testid="stButton"]')].some(b => b.innerText.startsWith('Skip'));
const review = [...document.querySelectorAll('[data-testid="stButton"]')].some(b => b.innerText.startsWith('Back to labeling'));
return options > 0 && best === options && (skip || review);""", "All done")
COMPARE_PAGE = Page("comparison", """
const sides = document.querySelectorAll('.rlhf-compare-text').length;
const buttons = [...document.querySelectorAll('[data-testid="stButton"]')].map(b => b.innerText);
return sides === 2 && ['Left is better', 'Right is better', 'Tie'].every(l => buttons.some(t => t.startsWith(l)));""",
                    "Nothing left to compare")
_ITEM_ON_SCREEN = """const ids = [...document.querySelectorAll(`[data-${arguments[0]}]`)].map(el => el.dataset[arguments[0]]);
return ids.length && ids.every(id => id === ids[0]) ? ids[0] : null;"""


class LabelingTab:
    """One signed-in labeler's page (the Label page, or with COMPARE_PAGE the Compare page), used with the keyboard."""

    def __init__(self, driver, url: str, timeout: float = WAIT_SECONDS, page: Page = LABEL_PAGE):
        self.driver, self.url, self.timeout, self.page = driver, url, timeout, page
        self._seen: tuple[Optional[str], float] = (None, 0.0)  # (item id, when first seen complete)

    def sign_in(self, name: str, password: str) -> None:
        """Open the page and sign in; returns once the sign-in form is gone (the sign-in was accepted)."""
        from selenium.webdriver.common.keys import Keys
        from selenium.webdriver.support import expected_conditions as ec

        self.driver.get(self.url)
        type_when_ready(self.driver, "input[aria-label='Name']", name, timeout=self.timeout)
        password_input = wait_for(self.driver, "input[aria-label='Password']", timeout=self.timeout)
        type_when_ready(self.driver, "input[aria-label='Password']", password + Keys.ENTER, timeout=self.timeout)
        self.wait_until(ec.staleness_of(password_input), f"the sign-in form to go away ({name} signed in)")

    def wait_until(self, condition, what: str, timeout: Optional[float] = None):
        return wait_until(self.driver, condition, what, timeout or self.timeout)

    def item_on_screen(self) -> Optional[str]:
        """The id of the item on screen, None while none is (or while parts of two items are)."""
        return self.driver.execute_script(_ITEM_ON_SCREEN, self.page.marker)

    def batch_on_screen(self) -> Optional[str]:
        return self.item_on_screen()

    def wait_for_item(self) -> str:
        """The id of the item on screen, once all of it and its buttons are drawn by a finished run.

        A key press before its button exists would be lost, and a half-drawn page mixes two items.
        """
        def complete(d) -> Optional[str]:
            item = self.item_on_screen()
            return item if item is not None and d.execute_script(self.page.ready) and d.execute_script(_SETTLED) else None

        item = self.wait_until(complete, f"a complete {self.page.marker} on the page, its buttons drawn")
        if item != self._seen[0]:
            self._seen = (item, time.monotonic())
        return item

    def read_item(self, seconds: float) -> str:
        """Wait for the item, then stay on it until `seconds` have passed since it was first seen complete.

        A person's reading time, not a wait for the page: the app drops a choice made sooner after
        an item appeared as a bounce, so a test that means to choose must not be faster.
        """
        item = self.wait_for_item()
        time.sleep(max(0.0, self._seen[1] + seconds - time.monotonic()))
        return item

    def shown_texts(self) -> list[str]:
        """The continuations on screen, in shown order (what keys 1, 2, ... choose)."""
        return self.driver.execute_script("""
            return [...document.querySelectorAll('.rlhf-option')]
              .sort((a, b) => a.dataset.position - b.dataset.position)
              .map(el => el.querySelector('.rlhf-continuation').textContent);""")

    def press(self, key: str) -> float:
        """Press `key` on the page body; returns milliseconds from the key press to the next item painted."""
        from selenium.common.exceptions import TimeoutException

        before = self.wait_for_item()
        self.driver.execute_script(_KEY_CLOCK)
        self.driver.find_element("tag name", "body").send_keys(key)
        self.driver.set_script_timeout(self.timeout)
        try:
            return float(self.driver.execute_async_script(_WAIT_NEXT, before, self.page.marker, self.page.done))
        except TimeoutException:
            raise TimeoutException(f"waited {self.timeout:.0f} s after key {key!r} for the {self.page.marker} after "
                                   f"{before}; {_page_summary(self.driver)}") from None
