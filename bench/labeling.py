"""Benchmark: milliseconds from a key press to the next item on screen in the labeling app.

For 1 and for 8 concurrent labelers (each its own headless Chromium, in a thread, against one
`streamlit run` server), labelers press keys 1-4 until --labels labels are stored in each scenario.
The time of one label runs from the keydown event (recorded in the page) to the first frame painted
after the next batch's text replaced the previous one. Each labeler first reads for --think seconds,
as a person would (the app drops faster presses as bounces; each wait is drawn between --think and
twice that, so labelers are out of step), and labels --warmup items unmeasured. The table also gives
the CPU time of the server and of the browsers per label: on one small machine the browsers compete
with the server, which real labelers' browsers, on their own computers, do not.

The run is synthetic (a temporary run directory, no model). Timings are printed, never checked:
    python bench/labeling.py                     # 100 labels per scenario, about 3 minutes on 2 cores
    python bench/labeling.py --labels 40 --concurrency 1,2,8 --json bench.json
Needs chromium and chromedriver on the PATH (apt-get install chromium chromium-driver) and selenium.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from labeling_app.browser import AppServer, Chromium, LabelingTab, browser_missing
from labeling_app.synthetic import make_run
from rlhf.config.sections import LabelingConfig

TARGET_P95_MS = 300.0
LOAD_BEFORE = (0.0, 0.0, 0.0)
PASSWORD = "bench-password"
console = Console(width=150)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=100, help="measured labels per scenario (split among its labelers)")
    parser.add_argument("--concurrency", default="1,8", help="comma-separated numbers of concurrent labelers")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured labels per labeler first")
    parser.add_argument("--think", type=float, default=0.5,
                        help="seconds each labeler reads before pressing a key (at least labeling.min_seconds)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    args.concurrency = [int(n) for n in args.concurrency.split(",") if n.strip()]
    # A press sooner than the app's least reading time after an item appeared is dropped, not timed.
    args.think = max(args.think, LabelingConfig().min_seconds + 0.05)
    return args


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q * len(ordered)))) - 1]


def _proc_stats() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds used) for every process."""
    tick, stats = os.sysconf("SC_CLK_TCK"), {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, ValueError, IndexError):
            continue  # not a process, or it ended meanwhile
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)  # ppid, utime + stime
    return stats


def tree_cpu_seconds(roots: list[int], stats: dict[int, tuple[int, float]]) -> float:
    """CPU seconds of the given processes and all their descendants (a browser's many processes)."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, list(roots)
    while todo:
        pid = todo.pop()
        total += stats.get(pid, (0, 0.0))[1]
        todo.extend(children.get(pid, []))
    return total


def machine_busy_seconds() -> float:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    return sum(int(v) for i, v in enumerate(fields) if i not in (3, 4)) / os.sysconf("SC_CLK_TCK")  # not idle, iowait


class CpuWindow:
    """CPU used by the server, by the browsers and by the whole machine during the measured phase."""

    def __init__(self, server_pid: int):
        self.server_pid, self.browser_pids, self.start, self.end = server_pid, [], None, None

    def snapshot(self) -> tuple[float, ...]:
        stats = _proc_stats()
        return (time.monotonic(), tree_cpu_seconds([self.server_pid], stats),
                tree_cpu_seconds(self.browser_pids, stats), machine_busy_seconds())

    def per_label(self, labels: int) -> dict:
        if not (self.start and self.end and labels):
            return {}
        wall, server, browsers, machine = (b - a for a, b in zip(self.start, self.end))
        return {"server_cpu_ms_per_label": 1000 * server / labels, "browser_cpu_ms_per_label": 1000 * browsers / labels,
                "machine_busy": machine / wall / (os.cpu_count() or 1),
                "others_busy": (machine - server - browsers) / wall / (os.cpu_count() or 1)}


def labeler_session(url: str, name: str, presses: int, args, cpu: CpuWindow, phase: tuple, out: list,
                    errors: list) -> None:
    """One labeler in one browser: sign in, warm up, wait for the others, time each key press, wait again."""
    start, end = phase
    think = random.Random(name)
    try:
        with Chromium() as driver:
            cpu.browser_pids.append(driver.service.process.pid)  # chromedriver; the browser's processes are its descendants
            tab = LabelingTab(driver, url, timeout=60)
            tab.sign_in(name, PASSWORD)
            tab.wait_for_item()
            for i in range(args.warmup):
                time.sleep(think.uniform(args.think, 2 * args.think))
                tab.press("1234"[i % 4])
            start.wait()
            for i in range(presses):
                time.sleep(think.uniform(args.think, 2 * args.think))  # labelers out of step, as people are
                out.append(tab.press("1234"[i % 4]))
            end.wait()  # before this browser quits: closing browsers is not part of the measured phase
    except BaseException as error:  # reported under the table; the other labelers go on
        errors.append(f"{name}: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
        start.abort()
        end.abort()


def scenario(labelers: int, args, workdir: Path) -> dict:
    presses = math.ceil(args.labels / labelers)
    users = [(f"labeler{i}", PASSWORD, "labeler") for i in range(labelers)]
    batches = labelers * (presses + args.warmup + 1) + 5  # + 1: the item each labeler is left with
    config_path, store = make_run(workdir / f"x{labelers}", "bench", batches=batches, labelers=users)
    times: list[float] = []
    errors: list[str] = []
    with AppServer(config_path, log_path=workdir / f"streamlit-{labelers}.log") as server:
        cpu = CpuWindow(server.process.pid)
        phase = (threading.Barrier(labelers, action=lambda: setattr(cpu, "start", cpu.snapshot())),
                 threading.Barrier(labelers, action=lambda: setattr(cpu, "end", cpu.snapshot())))
        threads = [threading.Thread(target=labeler_session, args=(server.url, name, presses, args, cpu, phase, times, errors))
                   for name, _, _ in users]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - began
    stored = len(store.labels())
    return {"labelers": labelers, "labels": len(times), "stored": stored, "expected": labelers * (presses + args.warmup),
            "p50_ms": percentile(times, 0.5) if times else None, "p95_ms": percentile(times, 0.95) if times else None,
            "max_ms": max(times) if times else None, "mean_ms": statistics.fmean(times) if times else None,
            "wall_s": wall, "errors": errors, **cpu.per_label(len(times))}


def print_table(results: list[dict], args) -> None:
    table = Table(title=f"Labeling app: key press to next item on screen (think time {args.think:.1f} s)")
    for column in ("labelers", "labels timed", "p50 ms", "p95 ms", "max ms", "target p95", "stored", "server CPU/label",
                   "browsers CPU/label", "CPUs busy", "of which others"):
        table.add_column(column, justify="right")
    fmt = lambda v: "-" if v is None else f"{v:.0f}"
    for r in results:
        verdict = "" if r["p95_ms"] is None else (" ✓" if r["p95_ms"] < TARGET_P95_MS else " ✗")
        share = lambda key: "-" if r.get(key) is None else f"{r[key]:.0%}"
        ms = lambda key: "-" if r.get(key) is None else f"{r[key]:.0f} ms"
        table.add_row(str(r["labelers"]), str(r["labels"]), fmt(r["p50_ms"]), fmt(r["p95_ms"]), fmt(r["max_ms"]),
                      f"< {TARGET_P95_MS:.0f}{verdict}", f"{r['stored']}/{r['expected']}",
                      ms("server_cpu_ms_per_label"), ms("browser_cpu_ms_per_label"), share("machine_busy"), share("others_busy"))
    console.print(table)
    console.print(f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}; "
                  f"load average before the run: {LOAD_BEFORE[0]:.1f}.")
    console.print("CPU/label: the Streamlit server process, and all the Chromium processes, per timed label. CPUs busy: "
                  "the whole machine during the timed phase; 'of which others': neither the server nor the browsers "
                  "(this script, other people's jobs).")
    for r in results:
        for error in r["errors"]:
            console.print(f"[red]{r['labelers']} labelers: {error}[/red]")


def main(argv=None) -> int:
    args = parse_args(argv)
    global LOAD_BEFORE
    LOAD_BEFORE = os.getloadavg()
    missing = browser_missing()
    if missing:
        console.print(f"[red]cannot run: {missing}[/red]")
        return 2
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-labeling-") as workdir:
        for labelers in args.concurrency:
            console.print(f"{labelers} labeler(s)...")
            results.append(scenario(labelers, args, Path(workdir)))
    print_table(results, args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
