"""Scale benchmark of the label store and the labeling app: 100,000 sample batches, 300,000 labels from 50
labelers, on SQLite and on PostgreSQL, against the targets of issue 20:

- a labeling step, server side, p95 under 100 ms with 16 concurrent sessions: what the label page runs
  between a click and the next item on screen (`labeling_app/label_page.py`): the labeler read again
  from the store twice (the click's callback and app.py, `auth.current`), `submit`, `next_assignment`
  and `progress`, with the run's labelers_per_batch, count_machine_labelers and gold_rate. Each
  session is a thread of one process sharing one `LabelStore`, as Streamlit's sessions share the one
  the app caches; each reads its item for --think to twice that many seconds before choosing (the
  app drops a choice sooner than labeling.min_seconds, 1 s: no person labels faster);
- the dashboard renders in under 2 s: `labeling_app/dashboard_page.py` run end to end by Streamlit's
  AppTest (an admin signed in, then the dashboard page). First as right after a server start: the
  app's first run starts reading the figures in the background (`dashboard_figures.warm`), and the
  admin's first render, a moment later, is timed whether or not they are ready (without them the
  page draws the rest and polls); the seconds from the app's start until the figures are ready are
  printed beside it. Then the median of --repeats renders, each after a new label (drawn from the
  figures kept, while newer ones are read in the background);
- labeling steps while the figures are read: the same sessions for a quarter of --steps more, while
  a thread reads the dashboard's figures again and again (an admin's page after each new label), as
  Streamlit's sessions share one process; their p95 is printed beside the others;
- an export of all labels (`rlhf.labeling.export.export_labels`) in under 60 s;
- reward training's data loading (`reward.train.load_choices`, with reward.min_gold_accuracy set, so
  the gold tallies are read too) in under 30 s.

The store is built once per backend and size in --workdir with bulk inserts of the rows the app
writes (queries with token ids, batches of 4 samples with token ids and sampling settings, 50 labelers
with passwords, one of them an admin, assignments with their shown order, labels with seconds and
client tokens, 2% skipped and 0.5% flagged with a reason, 1% corrected by a later label that supersedes
them, and 100 gold batches every labeler answered). Batches are labeled oldest first by 3 labelers
each (labeling.labelers_per_batch 3), as the app hands them out, so the newest batches are still open.
Each measurement runs on a fresh copy of the built store (an SQLite file copy; a PostgreSQL database
made from it as a template), so reruns see the same store. The load average is printed before and after:
other work on the machine slows every figure.

    python bench/label_scale.py --workdir /tmp/label_scale                    # both backends, full size
    python bench/label_scale.py --backends sqlite --json figures.json
    python bench/label_scale.py --quick                                       # tiny sizes: plumbing only

PostgreSQL: --postgres-url names a server whose user may create databases (default
$RLHF_TEST_POSTGRES_URL; `eval "$(.ci/postgres.sh start)"` starts a throw-away one).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]

# The repository first and bench/ last on sys.path: bench/reward.py would shadow the `reward` package (path
# entries are searched before an editable install's finder), and label_scale_store is found in bench/.
sys.path[:] = ([str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() not in (ROOT, Path(__file__).resolve().parent)]
               + [str(ROOT / "bench")])

from label_scale_store import LABELERS_PER_BATCH, PASSWORD, Plan, PostgresStores, SqliteStores, built_store, labeler_name  # noqa: E402

TARGETS = {"step_p95_ms": 100.0, "dashboard_first_s": 2.0, "dashboard_s": 2.0, "export_s": 60.0,
           "reward_load_s": 30.0}  # each figure below its target
NAME, GOLD_RATE = "label-scale", 0.1


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", type=int, default=100_000, help="Sample batches in the store (4 samples each).")
    p.add_argument("--labels", type=int, default=300_000, help="Label rows in the store, corrections included.")
    p.add_argument("--labelers", type=int, default=50, help="Labelers who made them (all people with a password).")
    p.add_argument("--gold", type=int, default=100, help="Gold batches, answered by every labeler.")
    p.add_argument("--sessions", type=int, default=16, help="Concurrent labeling sessions, each its own labeler.")
    p.add_argument("--steps", type=int, default=40, help="Timed labeling steps per session.")
    p.add_argument("--think", type=float, default=1.0, help="Each session reads an item this to twice this many seconds.")
    p.add_argument("--repeats", type=int, default=3, help="Dashboard renders timed (the median is reported).")
    p.add_argument("--backends", default="sqlite,postgres", help="Comma-separated: sqlite, postgres.")
    p.add_argument("--postgres-url", default=os.environ.get("RLHF_TEST_POSTGRES_URL"),
                   help="A PostgreSQL server URL whose user may create databases (default: $RLHF_TEST_POSTGRES_URL).")
    p.add_argument("--workdir", type=Path, help="Where built stores are kept for reruns (default: a temporary folder).")
    p.add_argument("--json", type=Path, metavar="PATH", help="Also write the figures as JSON.")
    p.add_argument("--quick", action="store_true", help="Tiny sizes, SQLite only, no think time: the plumbing in seconds.")
    args = p.parse_args(argv)
    if args.quick:
        args.batches, args.labels, args.labelers, args.gold, args.sessions, args.steps = 300, 600, 6, 2, 3, 4
        args.think, args.repeats = 0.0, 1
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    problems = check_args(args)
    if problems:
        p.error("; ".join(problems))
    return args


def check_args(args) -> list[str]:
    problems = [f"unknown backend {b!r} (sqlite, postgres)" for b in args.backends if b not in ("sqlite", "postgres")]
    if "postgres" in args.backends and not args.postgres_url:
        problems.append("postgres needs --postgres-url or RLHF_TEST_POSTGRES_URL (.ci/postgres.sh start prints one)")
    if args.sessions > args.labelers:
        problems.append(f"--sessions {args.sessions} needs as many labelers, not {args.labelers}")
    if args.labelers < LABELERS_PER_BATCH:
        problems.append(f"--labelers must be at least {LABELERS_PER_BATCH} (labelers per batch)")
    plan = Plan.of(args)
    if plan.ordinary < 0:
        problems.append(f"{args.labels} labels are fewer than the gold answers ({plan.gold} gold batches x {args.labelers} "
                        f"labelers) and corrections: give more --labels or fewer --gold")
    elif plan.open_places < args.sessions * (args.steps + reading_steps(args) + 2):
        problems.append(f"{args.labels} labels leave {plan.open_places} open places on {args.batches} batches; the sessions "
                        f"need {args.sessions * (args.steps + reading_steps(args) + 2)}: give more --batches or fewer --labels")
    return problems


def reading_steps(args) -> int:
    """Steps per session timed while the dashboard's figures are read."""
    return max(1, args.steps // 4)


def write_run_config(run_root: Path, database_url: Optional[str], think: float) -> Path:
    from labeling_app.synthetic import write_config

    labeling = {"labelers_per_batch": LABELERS_PER_BATCH, "gold_rate": GOLD_RATE, "min_seconds": min(1.0, think)}
    if database_url:
        labeling["database_url"] = database_url
    return write_config(run_root, NAME, labelers_per_batch=LABELERS_PER_BATCH,
                        extra={"labeling": labeling, "reward": {"min_gold_accuracy": 0.3}})


# -- the measurements ---------------------------------------------------------------------------------


@dataclass
class Steps:
    """Seconds of each timed labeling step, and of its store calls."""

    total: list[float] = field(default_factory=list)
    calls: dict[str, list[float]] = field(default_factory=lambda: {"submit": [], "next_assignment": [], "progress": []})
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0


def percentile(values: list[float], q: float) -> Optional[float]:
    """Nearest rank; None without values."""
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q * len(ordered)))) - 1] if ordered else None


def labeling_session(store, labeler_id: int, labeling, args, barrier: threading.Barrier, steps: Steps) -> None:
    """One labeler's session: the first item, then --steps timed choices, each read for a while first."""
    rng = random.Random(labeler_id)
    ask = {"count_machines": labeling.count_machine_labelers, "gold_rate": labeling.gold_rate}
    try:
        item = store.next_assignment(labeler_id, labeling.labelers_per_batch, **ask)
        store.progress(labeler_id, labeling.labelers_per_batch, labeling.count_machine_labelers, labeling.gold_rate)
        barrier.wait()
        for _ in range(args.steps):
            shown = time.perf_counter()
            time.sleep(rng.uniform(args.think, 2 * args.think))
            started = time.perf_counter()
            store.labeler_by_id(labeler_id)  # the click's callback: auth.current(store)
            store.submit(labeler_id, item.batch_id, choice=rng.randrange(len(item.samples)), shown_order=item.shown_order,
                         seconds=round(started - shown, 3), client_token=uuid.uuid4().hex, min_seconds=labeling.min_seconds)
            submitted = time.perf_counter()
            store.labeler_by_id(labeler_id)  # app.py: auth.current(store)
            item = store.next_assignment(labeler_id, labeling.labelers_per_batch, **ask)
            assigned = time.perf_counter()
            store.progress(labeler_id, labeling.labelers_per_batch, labeling.count_machine_labelers, labeling.gold_rate)
            done = time.perf_counter()
            steps.total.append(done - started)
            for name, seconds in (("submit", submitted - started), ("next_assignment", assigned - submitted),
                                  ("progress", done - assigned)):
                steps.calls[name].append(seconds)
            if item is None:
                raise RuntimeError("no batch left to hand out")
    except BaseException as error:  # reported under the table; the other sessions go on
        steps.errors.append(f"labeler {labeler_id}: {type(error).__name__}: {error}")
        barrier.abort()


def labeling_steps(store, labeling, args) -> Steps:
    steps = Steps()
    labelers = range(args.labelers - args.sessions + 1, args.labelers + 1)
    barrier = threading.Barrier(len(labelers))
    threads = [threading.Thread(target=labeling_session, args=(store, i, labeling, args, barrier, steps)) for i in labelers]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    steps.wall = time.perf_counter() - started
    return steps


def dashboard_seconds(config_path: Path, store, labeling, repeats: int) -> dict:
    """Seconds of end-to-end runs of the dashboard page for a signed-in admin: the first, right after the
    app started (and started reading the figures); how long after the start the figures were ready; the
    first render with them; then `repeats` renders each after a new label (drawn from the kept figures
    while newer ones are computed in the background, which is let finish before the next label)."""
    from streamlit.testing.v1 import AppTest

    from labeling_app import dashboard_figures

    os.environ["RLHF_CONFIG"] = str(config_path)
    started = time.perf_counter()
    at = AppTest.from_file(str(ROOT / "labeling_app" / "app.py"), default_timeout=900).run()
    at.text_input(key="sign_in_name").input(labeler_name(1))
    at.text_input(key="sign_in_password").input(PASSWORD)
    next(b for b in at.button if b.label == "Sign in").click().run()
    first = timed(lambda: render_dashboard(at))
    first_complete = not any(str(i.value).startswith("Computing the figures") for i in at.info)
    dashboard_figures.settle(store.url)
    ready = time.perf_counter() - started
    full = timed(lambda: render_dashboard(at))
    renders, behind = [], 0
    for _ in range(repeats):
        add_label(store, labeling)
        renders.append(timed(lambda: render_dashboard(at)))
        behind += any("Newer ones are being computed" in str(i.value) for i in at.info)
        dashboard_figures.settle(store.url)
    return {"dashboard_first_s": first, "dashboard_first_complete": first_complete, "figures_ready_s": ready,
            "dashboard_full_s": full, "dashboard_runs_s": renders, "dashboard_s": statistics.median(renders) if renders else None,
            "dashboard_renders_behind": behind}


def steps_while_reading(store, labeling, args) -> dict:
    """p95 of labeling steps while a thread of the same process reads the dashboard's figures, again and again."""
    from labeling_app import dashboard_figures

    done, readings = threading.Event(), []

    def read_again_and_again():
        while not readings or not done.is_set():  # at least one reading, however short the steps
            readings.append(timed(lambda: dashboard_figures.read_in_background(store, labeling.samples_per_query).result()))

    reader = threading.Thread(target=read_again_and_again)
    reader.start()
    try:
        steps = labeling_steps(store, labeling, argparse.Namespace(**{**vars(args), "steps": reading_steps(args)}))
    finally:
        done.set()
        reader.join()
    return {"reading_step_p95_ms": step_figures(steps)["step_p95_ms"], "reading_steps": len(steps.total),
            "readings_s": readings, "step_errors": steps.errors}


def render_dashboard(at) -> None:
    at.switch_page("routes/dashboard.py").run()
    if at.exception or [e.value for e in at.error] or not at.title or at.title[0].value != "Dashboard":
        raise RuntimeError(f"the dashboard did not render: {[e.value for e in at.exception] or [e.value for e in at.error]}")


def add_label(store, labeling) -> None:
    """One more label, as a labeler stores it: the store changed since the dashboard's last reading."""
    labeler_id = 2  # not one of the sessions', which ended
    item = store.next_assignment(labeler_id, labeling.labelers_per_batch, count_machines=labeling.count_machine_labelers)
    store.submit(labeler_id, item.batch_id, choice=0, shown_order=item.shown_order, seconds=5.0, client_token=uuid.uuid4().hex)


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def load_text() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure(stores, plan: Plan, args, workdir: Path, log) -> dict:
    from reward.train import load_choices
    from rlhf.config.run_config import load_config
    from rlhf.labeling.export import export_labels

    figures = {"backend": stores.name, "load_before": load_text()}
    figures["build_s"] = built_store(stores, plan, workdir, log)
    run_root = workdir / f"run-{stores.name}"
    shutil.rmtree(run_root, ignore_errors=True)
    (run_root / NAME).mkdir(parents=True)
    config_path = write_run_config(run_root, stores.fresh_copy(run_root / NAME), args.think)
    config = load_config(str(config_path))
    from rlhf.labeling.store import open_store

    store = open_store(config)
    try:
        log(f"{stores.name}: {args.sessions} sessions x {args.steps} labeling steps")
        steps = labeling_steps(store, config.labeling, args)
        figures.update(step_figures(steps))
        log(f"{stores.name}: dashboard, first render and {args.repeats} after a new label")
        figures.update(dashboard_seconds(config_path, store, config.labeling, args.repeats))
        log(f"{stores.name}: labeling steps while the dashboard's figures are read")
        during = steps_while_reading(store, config.labeling, args)
        figures["step_errors"] = figures["step_errors"] + during.pop("step_errors")
        figures.update(during)
        log(f"{stores.name}: export, reward data")
        figures["export_s"] = timed(lambda: export_labels(store, run_root / "exports"))
        figures["reward_load_s"] = timed(lambda: load_choices(config, store))
        figures["labels_after"] = store.row_counts()["labels"]
    finally:
        store.engine.dispose()
    figures["load_after"] = load_text()
    figures["verdicts"] = verdicts(figures)
    return figures


def step_figures(steps: Steps) -> dict:
    ms = lambda values, q: None if not values else 1000 * percentile(values, q)
    figures = {"steps": len(steps.total), "step_p50_ms": ms(steps.total, 0.5), "step_p95_ms": ms(steps.total, 0.95),
               "step_p99_ms": ms(steps.total, 0.99), "steps_per_s": len(steps.total) / steps.wall if steps.wall else None,
               "step_errors": steps.errors}
    for name, values in steps.calls.items():
        figures[f"{name}_p95_ms"] = ms(values, 0.95)
    return figures


def verdicts(figures: dict) -> dict[str, Optional[bool]]:
    """Each target met (True), not met (False), or not measured (None)."""
    return {key: None if figures.get(key) is None else figures[key] < target for key, target in TARGETS.items()}


# -- the table ----------------------------------------------------------------------------------------

COLUMNS = [("build_s", "build s", "{:.0f}"), ("step_p50_ms", "step p50 ms", "{:.1f}"), ("step_p95_ms", "step p95 ms", "{:.1f}"),
           ("step_p99_ms", "step p99 ms", "{:.1f}"), ("steps_per_s", "steps/s", "{:.1f}"),
           ("reading_step_p95_ms", "step p95 ms, figures read", "{:.1f}"), ("dashboard_first_s", "dashboard first s", "{:.2f}"),
           ("figures_ready_s", "figures ready s", "{:.1f}"), ("dashboard_s", "dashboard s", "{:.2f}"),
           ("export_s", "export s", "{:.1f}"), ("reward_load_s", "reward load s", "{:.1f}")]


def cell(figures: dict, key: str, fmt: str) -> str:
    value = figures.get(key)
    if value is None:
        return "-"
    met = figures.get("verdicts", {}).get(key)
    return fmt.format(value) + ("" if met is None else " met" if met else " NOT MET")


def target_header(key: str, title: str) -> str:
    return f"{title}\n(target < {TARGETS[key]:g})" if key in TARGETS else title


def print_table(results: list[dict], args, console) -> None:
    from rich.table import Table

    table = Table(title=f"Label store at scale: {args.batches} batches, {args.labels} labels from {args.labelers} labelers; "
                        f"{args.sessions} sessions x {args.steps} steps, think {args.think:g}-{2 * args.think:g} s")
    table.add_column("backend")
    for key, title, _ in COLUMNS:
        table.add_column(target_header(key, title), justify="right")
    table.add_column("load average before / after")
    for figures in results:
        table.add_row(figures["backend"], *[cell(figures, key, fmt) for key, _, fmt in COLUMNS],
                      f"{figures['load_before']} / {figures['load_after']}")
    console.print(table)
    for figures in results:
        calls = ", ".join(f"{name} {figures[f'{name}_p95_ms']:.1f}" for name in ("submit", "next_assignment", "progress")
                          if figures.get(f"{name}_p95_ms") is not None)
        runs = figures.get("dashboard_runs_s", [])
        console.print(f"{figures['backend']}: {figures['steps']} steps timed; p95 ms per call: {calls}; dashboard renders after a "
                      f"new label (s): {', '.join(f'{s:.2f}' for s in runs)}, {figures.get('dashboard_renders_behind', 0)} of "
                      f"{len(runs)} drawn from figures one label behind")
        readings = figures.get("readings_s", [])
        console.print(f"{figures['backend']}: first render {'with' if figures.get('dashboard_first_complete') else 'without'} "
                      f"the figures (ready {figures.get('figures_ready_s', 0):.1f} s after the app started; the first render "
                      f"with them {figures.get('dashboard_full_s', 0):.2f} s); {figures.get('reading_steps', 0)} steps timed "
                      f"during {len(readings)} readings of the figures ({', '.join(f'{s:.1f}' for s in readings)} s each)")
        for error in figures.get("step_errors", []):
            console.print(f"[red]{figures['backend']}: {error}[/red]")


def main(argv=None) -> int:
    from rich.console import Console

    args = parse_args(argv)
    console = Console(width=240)
    plan = Plan.of(args)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="label-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    console.print(f"{os.cpu_count()} CPUs; load average before: {load_text()}; workdir {workdir}")
    results = []
    for backend in args.backends:
        stores = SqliteStores(workdir, plan) if backend == "sqlite" else PostgresStores(args.postgres_url, plan)
        try:
            results.append(measure(stores, plan, args, workdir, lambda message: console.print(message)))
        finally:
            stores.drop_copy()
            if not args.workdir:
                stores.drop_template()
    print_table(results, args, console)
    console.print(f"load average after: {load_text()}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if any(f["step_errors"] for f in results) else 0


if __name__ == "__main__":
    sys.exit(main())
