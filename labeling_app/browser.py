"""Drive the app in a real browser, for the browser tests and the latency benchmark.

`AppServer` runs `streamlit run labeling_app/app.py` as a subprocess on a free loopback port;
`chromium()` opens Debian's headless Chromium through selenium (imported here, lazily: it is a
test-time tool, not a dependency of the app); `LabelingTab` signs in and labels with the keyboard.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Optional

APP = Path(__file__).resolve().parent / "app.py"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update", "--no-first-run",
                  "--disable-sync")
# The page records when a key goes down, in the capture phase (before Streamlit's own handler).
_KEY_CLOCK = ("if (!window.__rlhfKeyClock) { window.__rlhfKeyClock = true;"
              " window.addEventListener('keydown', () => { window.__rlhfKeyAt = performance.now(); }, true); }")
_BATCH_ON_SCREEN = "const el = document.querySelector('[data-batch]'); return el ? el.dataset.batch : null;"
# Resolves with the milliseconds from that key press to the first frame painted with another batch.
_WAIT_NEXT = """
const [before, done] = [arguments[0], arguments[arguments.length - 1]];
const batch = () => { const el = document.querySelector('[data-batch]'); return el ? el.dataset.batch : null; };
const allDone = () => document.body.innerText.includes('All done');
const poll = () => {
  if ((batch() !== null && batch() !== before) || allDone()) {
    requestAnimationFrame(() => done(performance.now() - window.__rlhfKeyAt));
  } else { requestAnimationFrame(poll); }
};
poll();
"""


def browser_missing() -> Optional[str]:
    """Why a browser test cannot run here, or None when it can."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        return f"{' and '.join(missing)} absent (apt-get install chromium chromium-driver)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """`streamlit run` of the app for one run config; a context manager that always stops it."""

    def __init__(self, config_path: Path, log_path: Optional[Path] = None, startup_s: float = 60.0):
        self.port = free_port()
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
        deadline = time.monotonic() + self.startup_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"streamlit did not answer within {self.startup_s:.0f} s:\n{self.log()}")

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
        options.binary_location = str(CHROMIUM)
        for flag in (*CHROMIUM_FLAGS, f"--window-size={window}", f"--user-data-dir={self.profile}"):
            options.add_argument(flag)
        try:
            self.driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
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


class LabelingTab:
    """One signed-in labeler's page, labeling with the keyboard."""

    def __init__(self, driver, url: str, timeout: float = 30.0):
        self.driver, self.url, self.timeout = driver, url, timeout

    def sign_in(self, name: str, password: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        self.driver.get(self.url)
        self.wait_for(lambda d: d.find_elements(By.CSS_SELECTOR, "input[aria-label='Name']"))
        self.driver.find_element(By.CSS_SELECTOR, "input[aria-label='Name']").send_keys(name)
        self.driver.find_element(By.CSS_SELECTOR, "input[aria-label='Password']").send_keys(password + Keys.ENTER)

    def wait_for(self, condition, timeout: Optional[float] = None):
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, timeout or self.timeout, poll_frequency=0.05).until(condition)

    def batch_on_screen(self) -> Optional[str]:
        return self.driver.execute_script(_BATCH_ON_SCREEN)

    def wait_for_item(self) -> str:
        """The batch id on screen, once an item is drawn (the first frame after start can be a grey placeholder)."""
        batch = self.wait_for(lambda _d: self.batch_on_screen())
        # Wait for the choice buttons too: a key press before they exist would be lost.
        self.wait_for(lambda d: d.execute_script(
            "return [...document.querySelectorAll('button')].filter(b => b.innerText.startsWith('Best')).length") >= 2)
        return batch

    def shown_texts(self) -> list[str]:
        """The continuations on screen, in shown order (what keys 1, 2, ... choose)."""
        return self.driver.execute_script("""
            return [...document.querySelectorAll('.rlhf-option')]
              .sort((a, b) => a.dataset.position - b.dataset.position)
              .map(el => el.querySelector('.rlhf-continuation').textContent);""")

    def press(self, key: str) -> float:
        """Press `key` on the page body; returns milliseconds from the key press to the next item painted."""
        from selenium.webdriver.common.by import By

        self.driver.execute_script(_KEY_CLOCK)
        before = self.batch_on_screen()
        if before is None:
            raise RuntimeError("no item on screen to press a key for")
        self.driver.find_element(By.TAG_NAME, "body").send_keys(key)
        self.driver.set_script_timeout(self.timeout)
        return float(self.driver.execute_async_script(_WAIT_NEXT, before))
