"""What the label store's integrity check costs when a store opens, on a store of 100,000 labels.

Builds an SQLite store of `--labels` labels, each on its own batch of 4 samples of one query, with
texts, token ids and settings of the sizes `rlhf sample` stores for the sentiment task (64-token
queries, 24-token samples) and labels as the app stores them (shown order, seconds, client token).
Then times, median (and min, max) of `--repeats` runs after one warm-up, with the file in the page
cache (a cold read from disk costs more: the check reads every page):

- open without the check: what opening cost before (engine, the migrations' revision check, one query);
- PRAGMA quick_check alone (what `LabelStore` runs on opening) and PRAGMA integrity_check alone
  (what `rlhf store check` runs);
- open with the check: `LabelStore(url)` as every command now opens a store, plus the same query.

    python bench/store_check.py                       # 100,000 labels, 5 repeats
    python bench/store_check.py --labels 10000 --repeats 9 --keep store.db
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from rlhf.labeling import migrations
from rlhf.labeling.engine import store_engine
from rlhf.labeling.integrity import check_sqlite_file
from rlhf.labeling.schema import AssignmentRow, BatchRow, LabelerRow, LabelRow, QueryRow
from rlhf.labeling.store import LabelStore
from rlhf.run.layout import sqlite_url

CHUNK = 5000  # rows per INSERT batch while building
SETTINGS = {"temperature": 0.7, "top_k": 0, "top_p": 1.0, "max_new_tokens": 24, "num_samples": 4, "seed": 0,
            "batch_size": 16, "truncate_token": None, "truncate_after": 0, "has_stop": [False, True, False, False]}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep", metavar="PATH", help="build the store here and keep it (default: a temporary folder)")
    return parser.parse_args(argv)


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(("the", "rain", "house", "smiled", "quietly", "letter", "morning", "village")) for _ in range(n))


def rows(start: int, stop: int, rng: random.Random):
    """Queries, batches, assignments and labels number start..stop-1 (batch i is query i's, label i batch i's)."""
    ids = lambda n: [rng.randrange(50257) for _ in range(n)]
    queries = [{"id": f"train-{i}", "task": "sentiment", "prompt": words(rng, 48), "split": "train", "token_ids": ids(64)}
               for i in range(start, stop)]
    batches = [{"id": i + 1, "query_id": f"train-{i}", "samples": [words(rng, 18) for _ in range(4)],
                "sample_token_ids": [ids(24) for _ in range(4)], "policy": "smollm2-135m", "round": 0,
                "settings": SETTINGS, "seed": i} for i in range(start, stop)]
    orders = [rng.sample(range(4), 4) for _ in range(start, stop)]
    assignments = [{"batch_id": i + 1, "labeler_id": 1 + i % 10, "shown_order": o, "done": True}
                   for i, o in zip(range(start, stop), orders)]
    labels = [{"batch_id": i + 1, "labeler_id": 1 + i % 10, "choice": rng.randrange(4), "shown_order": o,
               "seconds": rng.uniform(2, 20), "client_token": f"{rng.getrandbits(128):032x}"}
              for i, o in zip(range(start, stop), orders)]
    return queries, batches, assignments, labels


def build(path: Path, n: int) -> None:
    store = LabelStore(sqlite_url(path))
    rng = random.Random(0)
    with store.session() as s, s.begin():
        s.execute(insert(LabelerRow), [{"name": f"labeler{i}", "role": "labeler"} for i in range(10)])
    for start in range(0, n, CHUNK):
        queries, batches, assignments, labels = rows(start, min(n, start + CHUNK), rng)
        with store.session() as s, s.begin():
            for table, values in ((QueryRow, queries), (BatchRow, batches), (AssignmentRow, assignments), (LabelRow, labels)):
                s.execute(insert(table), values)
    store.engine.dispose()


def open_without_check(url: str) -> int:
    engine = store_engine(url)
    migrations.upgrade(engine)
    with engine.connect() as conn:
        n = conn.exec_driver_sql("SELECT count(*) FROM labelers").scalar()
    engine.dispose()
    return n


def open_with_check(url: str) -> int:
    store = LabelStore(url)
    n = len(store.labelers())
    store.engine.dispose()
    return n


def timed(fn, repeats: int) -> list[float]:
    fn()  # warm-up: the file into the page cache, imports, Alembic's scripts
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def main(argv=None) -> None:
    args = parse_args(argv)
    folder = Path(args.keep).parent if args.keep else Path(tempfile.mkdtemp(prefix="store-check-"))
    path = Path(args.keep) if args.keep else folder / "labels.db"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        build(path, args.labels)
        print(f"built {path} with {args.labels} labels in {time.perf_counter() - started:.0f} s")
    url = sqlite_url(path)
    print(f"store: {os.path.getsize(path) / 2**20:.1f} MiB, {args.labels} labels; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    cases = [("open without the check", lambda: open_without_check(url)),
             ("PRAGMA quick_check alone", lambda: check_sqlite_file(path)),
             ("PRAGMA integrity_check alone", lambda: check_sqlite_file(path, full=True)),
             ("open with the check (LabelStore)", lambda: open_with_check(url))]
    results = {name: timed(fn, args.repeats) for name, fn in cases}
    print(f"{'ms, page cache warm':36} {'median':>8} {'min':>8} {'max':>8}   (runs: {args.repeats})")
    for name, times in results.items():
        ms = [t * 1000 for t in times]
        print(f"{name:36} {statistics.median(ms):8.1f} {min(ms):8.1f} {max(ms):8.1f}")
    extra = statistics.median(results["open with the check (LabelStore)"]) - statistics.median(results["open without the check"])
    print(f"the check adds {extra * 1000:.1f} ms to opening this store (difference of the medians)")
    if not args.keep:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        folder.rmdir()


if __name__ == "__main__":
    main()
