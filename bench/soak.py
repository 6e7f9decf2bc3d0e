"""Soak test: the labeling app under N concurrent labelers for a few minutes, on loopback.

Each labeler is a simulated browser session: a WebSocket client that speaks Streamlit's own protocol
(the protobuf BackMsg / ForwardMsg a browser tab exchanges with the server on /_stcore/stream). It
signs in through the real form (Argon2 check and all), reads the item on screen, waits a think time
(drawn between --think and twice that, so sessions are out of step; the app drops faster clicks as
bounces), clicks a "Best" button by its widget id, and waits for the script run that draws the next
item. Every server-side path is the one a browser exercises: sign-in callback, button callback,
label stored, next assignment, page drawn. What it leaves out is the browser's own rendering and
key handling: driving N real Chromium sessions (bench/labeling.py does that, for latency per key
press) costs about a core per browser, which on a 2-core machine measures the browsers' contention
more than the server. These clients cost little CPU, so N = 8 or more is feasible here.

Per scenario (a fresh synthetic run and `streamlit run` server each): labels submitted (clicks on
an item that the page then replaced) against labels stored (the store's rows for the bench labelers;
they must be equal), latency from a click sent to the next item drawn (p50, p95, max), and errors:
exceptions or error/warning notices on the page, a click that did not move on, timeouts, dropped
connections. Timings are printed, never checked; the exit status is 1 when submitted != stored or
any error occurred.

    python bench/soak.py                                   # N = 1, 4, 8; 2 minutes each
    python bench/soak.py --concurrency 4 --minutes 1 --json soak.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from rich.console import Console
from rich.table import Table

from labeling_app.browser import AppServer
from labeling_app.synthetic import fill_store, make_run, synthetic_batches
from rlhf.config.sections import LabelingConfig

PASSWORD = "soak-password"
TIMEOUT_S = 30.0
console = Console(width=150)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="1,4,8", help="comma-separated numbers of concurrent sessions")
    parser.add_argument("--minutes", type=float, default=2.0, help="how long each scenario runs")
    parser.add_argument("--think", type=float, default=0.5, help="seconds a labeler reads before clicking (at least labeling.min_seconds, below which the app drops clicks)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    args.concurrency = [int(n) for n in args.concurrency.split(",") if n.strip()]
    args.think = max(args.think, LabelingConfig().min_seconds + 0.05)
    return args


def percentile(values: list[float], q: float) -> Optional[float]:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q * len(ordered)))) - 1]


@dataclass
class Page:
    """What one script run drew: the elements a labeler acts on or reads."""

    page_script_hash: str = ""
    buttons: list = field(default_factory=list)  # (widget id, label)
    text_inputs: dict = field(default_factory=dict)  # label -> widget id
    batch: Optional[str] = None
    problems: list = field(default_factory=list)  # exceptions, error and warning notices
    texts: list = field(default_factory=list)


class StreamlitSession:
    """One browser tab, as the server sees it: a WebSocket on /_stcore/stream exchanging protobufs."""

    def __init__(self, base_url: str):
        self.ws_url = base_url.replace("http://", "ws://") + "/_stcore/stream"
        self.ws = None
        self.page_script_hash = ""
        self._cache: dict[str, bytes] = {}  # messages the server may later send by reference (ref_hash)

    async def connect(self) -> None:
        import websockets

        self.ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=None,
                                           open_timeout=TIMEOUT_S)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def rerun(self, widgets: list = ()) -> Page:
        """Send one rerun (what a click or a submitted form sends) and collect the run it starts."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ClientState_pb2 import ClientState
        from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates

        states = []
        for widget_id, value in widgets:
            state = WidgetState(id=widget_id)
            if value is True:
                state.trigger_value = True
            else:
                state.string_value = value
            states.append(state)
        msg = BackMsg(rerun_script=ClientState(widget_states=WidgetStates(widgets=states),
                                               page_script_hash=self.page_script_hash))
        await self.ws.send(msg.SerializeToString())
        return await asyncio.wait_for(self._collect(), TIMEOUT_S)

    async def _collect(self) -> Page:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        page = Page()
        while True:
            raw = await self.ws.recv()
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            if msg.WhichOneof("type") == "ref_hash":  # a message this tab was sent before, by reference
                ref = msg.ref_hash
                msg = ForwardMsg()
                msg.ParseFromString(self._cache[ref])
            elif msg.hash:
                self._cache[msg.hash] = raw
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                self.page_script_hash = page.page_script_hash = msg.new_session.page_script_hash
            elif kind == "navigation" and msg.navigation.page_script_hash:
                self.page_script_hash = msg.navigation.page_script_hash
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                _read_element(msg.delta.new_element, page)
            elif kind == "script_finished":
                if msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue
                if msg.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    page.problems.append("script compile error")
                return page


def _read_element(element, page: Page) -> None:
    kind = element.WhichOneof("type")
    if kind == "button":
        page.buttons.append((element.button.id, element.button.label))
    elif kind == "text_input":
        page.text_inputs[element.text_input.label] = element.text_input.id
    elif kind == "html":
        match = re.search(r'data-batch="(\d+)"', element.html.body)
        if match and page.batch is None:
            page.batch = match.group(1)
    elif kind == "alert":
        page.texts.append(element.alert.body)
        if element.alert.format in (1, 2):  # ERROR, WARNING
            page.problems.append(element.alert.body)
    elif kind == "exception":
        page.problems.append(f"exception {element.exception.type}: {element.exception.message}")
    elif kind == "markdown":
        page.texts.append(element.markdown.body)


@dataclass
class LabelerResult:
    name: str
    submitted: int = 0
    latencies_ms: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    all_done: bool = False


async def labeler(base_url: str, name: str, deadline: float, think: float, rng: random.Random) -> LabelerResult:
    result = LabelerResult(name)
    session = StreamlitSession(base_url)
    try:
        await session.connect()
        page = await session.rerun()
        inputs, submit = page.text_inputs, [b for b, label in page.buttons if label == "Sign in"]
        if "Name" not in inputs or "Password" not in inputs or not submit:
            raise RuntimeError(f"no sign-in form: {page.texts[:3]}")
        page = await session.rerun([(inputs["Name"], name), (inputs["Password"], PASSWORD), (submit[0], True)])
        while time.monotonic() < deadline:
            if page.problems:
                result.errors.extend(page.problems)
            if page.batch is None:
                if any("All done" in text for text in page.texts):
                    result.all_done = True
                    break
                raise RuntimeError(f"no item on screen: {page.texts[:3]}")
            best = [b for b, label in page.buttons if label == "Best"]
            await asyncio.sleep(rng.uniform(think, 2 * think))
            before = page.batch
            started = time.perf_counter()
            page = await session.rerun([(rng.choice(best), True)])
            elapsed = 1000 * (time.perf_counter() - started)
            if page.batch == before:
                result.errors.append(f"batch {before}: the click did not move on")
                continue
            result.submitted += 1
            result.latencies_ms.append(elapsed)
    except (asyncio.TimeoutError, TimeoutError):
        result.errors.append(f"no answer within {TIMEOUT_S:.0f} s")
    except Exception as error:  # a dropped connection, an unexpected page: counted, the soak goes on
        result.errors.append(f"{type(error).__name__}: {error}")
    finally:
        try:
            await session.close()
        except Exception:
            pass
    return result


def server_cpu_seconds(pid: int) -> Optional[float]:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def scenario(sessions: int, args, workdir: Path) -> dict:
    names = [f"soak{i}" for i in range(sessions)]
    # Enough items that nobody runs out: one label per think time at most, plus room.
    batches = int(sessions * args.minutes * 60 / args.think) + 20
    config_path, store = make_run(workdir / f"n{sessions}", "soak", batches=0,
                                  labelers=[(name, PASSWORD, "labeler") for name in names])
    fill_store(store, synthetic_batches(batches))
    rng = random.Random(args.seed)
    with AppServer(config_path, log_path=workdir / f"streamlit-{sessions}.log") as server:
        cpu_before, started = server_cpu_seconds(server.process.pid), time.monotonic()
        deadline = started + 60 * args.minutes

        async def everyone():
            return await asyncio.gather(*(labeler(server.url, name, deadline, args.think, random.Random(rng.random()))
                                          for name in names))
        results = asyncio.run(everyone())
        wall = time.monotonic() - started
        cpu_after = server_cpu_seconds(server.process.pid)
    ids = {store.labeler(name).id for name in names}
    stored = sum(1 for label in store.labels() if label.labeler_id in ids)
    latencies = [ms for r in results for ms in r.latencies_ms]
    submitted = sum(r.submitted for r in results)
    errors = [f"{r.name}: {e}" for r in results for e in r.errors]
    return {"sessions": sessions, "minutes": args.minutes, "wall_s": wall, "submitted": submitted, "stored": stored,
            "labels_per_s": submitted / wall if wall else None, "p50_ms": percentile(latencies, 0.5),
            "p95_ms": percentile(latencies, 0.95), "max_ms": max(latencies) if latencies else None,
            "errors": errors, "all_done": sum(r.all_done for r in results),
            "server_cpu_share": (cpu_after - cpu_before) / wall if cpu_before is not None and cpu_after is not None else None}


def print_table(results: list[dict], args) -> None:
    table = Table(title=f"Labeling app soak: simulated browser sessions on loopback (think {args.think:.2f}-{2 * args.think:.2f} s)")
    for column in ("sessions", "minutes", "submitted", "stored", "equal", "labels/s", "p50 ms", "p95 ms", "max ms",
                   "errors", "server CPU"):
        table.add_column(column, justify="right")
    fmt = lambda v, spec=".0f": "-" if v is None else format(v, spec)  # noqa: E731
    for r in results:
        table.add_row(str(r["sessions"]), fmt(r["minutes"], ".1f"), str(r["submitted"]), str(r["stored"]),
                      "yes" if r["submitted"] == r["stored"] else "NO", fmt(r["labels_per_s"], ".1f"), fmt(r["p50_ms"]),
                      fmt(r["p95_ms"]), fmt(r["max_ms"]), str(len(r["errors"])), fmt(r["server_cpu_share"], ".0%"))
    console.print(table)
    console.print(f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}; load average "
                  f"{os.getloadavg()[0]:.1f}. Latency: a click sent to the next item's script run received in full. "
                  "Server CPU: the Streamlit process's CPU time over the wall time (1.0 = one core).")
    for r in results:
        for error in r["errors"][:20]:
            console.print(f"[red]{r['sessions']} sessions: {error}[/red]")


def main(argv=None) -> int:
    args = parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as workdir:
        for sessions in args.concurrency:
            console.print(f"{sessions} session(s) for {args.minutes:g} min...")
            results.append(scenario(sessions, args, Path(workdir)))
    print_table(results, args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if all(r["submitted"] == r["stored"] and not r["errors"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
