"""The browser tests, run several times in a row while busy processes load every core.

CI once failed a browser test on a machine loaded by another job: Streamlit had not yet drawn the
button the test clicked. This reproduces that condition on purpose: it starts one `while True: pass`
process per CPU (by default), runs the browser tests --runs times, stops the load, and prints each
run's result and the load average seen during it. Exit status 0 only if every run passed.

    python bench/browser_under_load.py                   # 5 runs, load on every core, about 10 minutes on 2 cores
    python bench/browser_under_load.py --runs 2 --load 4 tests/test_labeling_browser.py
Needs chromium and chromedriver on the PATH (apt-get install chromium chromium-driver) and selenium.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BROWSER_TESTS = ("test_labeling_browser.py", "test_labeling_locked_browser.py", "test_compare_page.py")
BUSY = "while True: pass"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tests", nargs="*", help="test files (default: the browser tests, wherever under tests/)")
    parser.add_argument("--runs", type=int, default=5, help="how many times to run the tests")
    parser.add_argument("--load", type=int, default=os.cpu_count() or 1, help="busy processes (default: one per CPU)")
    parser.add_argument("--logs", type=Path, help="folder for each run's pytest output (default: a temporary one)")
    args = parser.parse_args(argv)
    args.tests = args.tests or browser_tests()
    return args


def browser_tests() -> list[str]:
    """The browser test files, found by name so that moving them to another folder under tests/ keeps this working."""
    found = [str(path.relative_to(ROOT)) for name in BROWSER_TESTS for path in sorted(ROOT.glob(f"tests/**/{name}"))]
    if len(found) != len(BROWSER_TESTS):
        raise SystemExit(f"expected one each of {', '.join(BROWSER_TESTS)} under tests/, found {found}")
    return found


@contextmanager
def busy_processes(count: int):
    """`count` processes spinning on a core each, stopped (by their own pids) however the block ends."""
    procs = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(count)]
    try:
        yield [p.pid for p in procs]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class LoadSampler:
    """The highest 1-minute load average seen while running (the end-of-run value alone can miss the peak)."""

    def __init__(self, every_s: float = 2.0):
        self.every_s, self.peak, self._stop = every_s, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, os.getloadavg()[0])
            self._stop.wait(self.every_s)

    def __enter__(self) -> "LoadSampler":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()


def summary_line(output: str) -> str:
    """pytest's last line, e.g. '17 passed, 1 warning in 84.90s', without the ='s around it."""
    lines = [line.strip("= ") for line in output.strip().splitlines() if re.search(r"\d+ (passed|failed|error)", line)]
    return lines[-1] if lines else "no pytest summary (see the log)"


def run_tests(tests: list[str], log: Path) -> tuple[bool, str, float]:
    """(passed, pytest's summary, seconds) for one run, its whole output in `log`."""
    # This tree first on the path: its labeling_app and tests, not an installed or another worktree's copy.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE", *tests], cwd=ROOT,
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log.write_text(done.stdout)
    return done.returncode == 0, summary_line(done.stdout), time.monotonic() - began


def failures(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.startswith(("FAILED", "ERROR"))]


def main(argv=None) -> int:
    args = parse_args(argv)
    logs = args.logs or Path(tempfile.mkdtemp(prefix="browser-under-load-"))
    logs.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} CPUs; load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    passed = 0
    with busy_processes(args.load) as pids:
        print(f"{args.load} busy processes ({' '.join(map(str, pids))}); {args.runs} runs of {' '.join(args.tests)}")
        for run in range(1, args.runs + 1):
            log = logs / f"run{run}.log"
            with LoadSampler() as load:
                ok, summary, seconds = run_tests(args.tests, log)
            passed += ok
            print(f"run {run}: {'PASS' if ok else 'FAIL'}  {summary}  ({seconds:.0f} s; load average "
                  f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}, 1-min peak {load.peak:.2f})", flush=True)
            for line in failures(log):
                print(f"    {line}")
    print(f"{passed}/{args.runs} runs passed; load stopped; logs in {logs}")
    return 0 if passed == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
