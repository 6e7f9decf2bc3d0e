"""The dashboard's figures from one reading of the label store, kept between renders of the page.

At 300,000 labels reading the labels and computing the figures takes seconds of CPU (bench/label_scale.py).
So the app keeps, per store, the figures of its newest reading (one per process, shared by the admins'
sessions). A render asks for them with the store's version (how many label rows and the newest id, the
gold answers, the labelers): when nothing changed they are drawn at once. After a change, a store of up
to `SYNC_LABELS` labels is read and computed again before the page is drawn, as always; a larger one is
drawn from the figures it has, which say which labels they count (`Figures.note`), while a background
process reads and computes the new ones for the next render. A process, not a thread: the labelers'
sessions are threads of the app's one process, and a reading in a thread held the interpreter so
long at a time that their labeling steps took two seconds at p95 instead of tens of milliseconds
(bench/label_scale.py). The process (`worker_process`) is started once, opens the store by its URL and
sends back the figures without the labels they came from. A large store with no figures yet (the
server just started) is not waited for either: `figures` answers None with a note, the page draws what
needs no figures and polls for them (`dashboard_page`). To make that rare, the app's first run asks for
a large store's figures at once (`warm`), so they are usually ready before an admin opens the page.
The figures are those of `rlhf.labeling.stats`, `agreement` and `gold`, computed when first asked for
(`functools.cached_property`) and all at once in the background.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import Optional

from labeling_app.worker_process import WorkerProcess
from rlhf.labeling import agreement as chance_corrected
from rlhf.labeling import stats as label_stats
from rlhf.labeling.gold import gold_scores
from rlhf.labeling.store import DatabaseError, Labeler, LabelStore

SYNC_LABELS = 20_000  # label rows up to which a changed store is read again before the page is drawn


@dataclass(frozen=True)
class Version:
    label_rows: int  # every label row, superseded ones too: labels are append-only, so a new label changes it
    newest_label: Optional[int]
    answers: tuple  # the gold answers, (batch id, best) sorted
    labelers: tuple  # (id, name, kind) of each labeler


@dataclass
class Agreement:
    observed: label_stats.Agreement
    corrected: Optional[chance_corrected.ChanceCorrected]  # None without a pair of choices
    pairs: dict  # {(labeler a, labeler b): (alike, shared)}


@dataclass
class Figures:
    version: Version
    labels: list  # the effective labels (`LabelStore.label_facts()`)
    labelers: list[Labeler]
    num_choices: int
    read_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @cached_property
    def latest(self) -> label_stats.Latest:
        return label_stats.latest_per_labeler(self.labels)

    @property
    def answers(self) -> dict[int, int]:
        return dict(self.version.answers)

    @property
    def names(self) -> dict[int, str]:
        return {labeler.id: labeler.name for labeler in self.labelers}

    @cached_property
    def overview(self) -> tuple[int, int, int]:
        """(choices, skips, flags) of the newest label of each labeler and batch."""
        latest = self.latest
        return (sum(1 for label in latest if label_stats.is_choice(label)),
                sum(1 for label in latest if label.skipped and not label.flagged), sum(1 for label in latest if label.flagged))

    @cached_property
    def seconds(self) -> tuple[dict[float, float], list[tuple[str, int]]]:
        """Quantiles and histogram of the seconds of every effective label (not only the newest of each)."""
        return label_stats.seconds_quantiles(self.labels), label_stats.seconds_histogram(self.labels)

    @cached_property
    def labeler_rows(self) -> list[label_stats.LabelerStats]:
        return label_stats.labeler_stats(self.latest, self.names, self.num_choices)

    @cached_property
    def gold(self) -> list:
        return gold_scores(self.latest, self.answers, self.names)

    @cached_property
    def positions(self) -> list[int]:
        return label_stats.position_counts(self.latest, self.num_choices)

    @cached_property
    def reasons(self) -> list[tuple[str, str, int]]:
        return label_stats.reason_counts(self.latest)

    def agreement(self, include_machines: bool) -> Agreement:
        """Agreement among the people, or among all labelers (the same without machines); each computed once."""
        include_machines = include_machines and any(labeler.kind != "human" for labeler in self.labelers)
        cache = self.__dict__.setdefault("_agreement", {})
        if include_machines not in cache:
            counted = {labeler.id for labeler in self.labelers if include_machines or labeler.kind == "human"}
            mine = label_stats.of_labelers(self.latest, counted)
            observed = label_stats.agreement(mine, self.num_choices)
            corrected = chance_corrected.chance_corrected(mine, num_choices=self.num_choices) if observed.pairs else None
            cache[include_machines] = Agreement(observed, corrected, chance_corrected.pairwise(mine))
        return cache[include_machines]

    def compute(self) -> "Figures":
        """Every figure the page draws, now rather than when drawn: the agreement both ways of its toggle."""
        for name in ("overview", "seconds", "labeler_rows", "gold", "positions", "reasons"):
            getattr(self, name)
        self.agreement(False)
        self.agreement(True)
        return self

    def without_labels(self) -> "Figures":
        """These figures, computed, without the labels they came from (small to send between processes); a
        figure not computed yet would be computed from no labels, so asking for one is an error."""
        self.__dict__.pop("latest", None)
        self.labels = None
        return self

    def note(self, now: Version) -> Optional[str]:
        """What the page says when these figures are older than the store, else None."""
        if now == self.version:
            return None
        return (f"Figures as of {self.read_at:%H:%M:%S} UTC ({self.version.label_rows} label rows; the store has "
                f"{now.label_rows} now). Newer ones are being computed: reload the page in a moment.")


class _Kept:
    """The newest figures of one store and the background reading under way, if any."""

    def __init__(self):
        self.figures: Optional[Figures] = None
        self.reading: Optional[Future] = None
        self.reading_since: Optional[datetime] = None
        self.failed: Optional[BaseException] = None  # the last background reading's error, for the next render
        self.warmed = False

    def collect(self) -> None:
        """Keep the figures of a finished background reading, or its error."""
        if self.reading is not None and self.reading.done():
            finished, self.reading = self.reading, None
            self.failed = finished.exception()
            if self.failed is None:
                self.figures = finished.result()

    def start_reading(self, store: LabelStore, num_choices: int) -> None:
        """Called under _LOCK."""
        if self.reading is None:
            self.reading_since = datetime.now(timezone.utc)
            self.reading = _executor().submit(_read_by_url, store.url, num_choices)


_KEPT: dict[str, _Kept] = {}
_LOCK = threading.Lock()
_EXECUTOR = None  # WorkerProcess, or any Executor


def _executor():
    """The one background process, made when first needed (under _LOCK)."""
    global _EXECUTOR
    if _EXECUTOR is None:
        _EXECUTOR = WorkerProcess()
    return _EXECUTOR


def version(store: LabelStore) -> Version:
    rows, newest = store.label_rows_and_newest()
    return Version(rows, newest, tuple(sorted(store.gold_answers().items())),
                   tuple((labeler.id, labeler.name, labeler.kind) for labeler in store.labelers()))


def read(store: LabelStore, num_choices: int, now: Optional[Version] = None) -> Figures:
    now = now or version(store)
    return Figures(now, store.label_facts(), store.labelers(), num_choices).compute()


_CHILD_STORES: dict[str, LabelStore] = {}  # in the background process: each store opened once


def _read_by_url(url: str, num_choices: int) -> Figures:
    """In the background process: open the store (once) and read its figures, without the labels."""
    store = _CHILD_STORES.get(url)
    if store is None:
        store = _CHILD_STORES[url] = LabelStore(url)
    return read(store, num_choices).without_labels()


def read_in_background(store: LabelStore, num_choices: int) -> Future:
    """The store's figures, read and computed by the background process."""
    with _LOCK:
        return _executor().submit(_read_by_url, store.url, num_choices)


def figures(store: LabelStore, num_choices: int) -> tuple[Optional[Figures], Optional[str]]:
    """The figures to draw, and a note when they are older than the store; (None, a note) while a large
    store's first figures are being read (see the module's docstring)."""
    now = version(store)
    with _LOCK:
        kept = _KEPT.setdefault(store.url, _Kept())
        kept.collect()
        current = kept.figures if kept.figures is not None and kept.figures.num_choices == num_choices else None
        if current is not None and current.version == now:
            return current, None
        if now.label_rows > SYNC_LABELS:
            if current is None and kept.failed is not None:
                failed, kept.failed = kept.failed, None
                raise failed  # as a reading on the page would have; the next render tries again
            kept.start_reading(store, num_choices)
            if current is not None:
                return current, current.note(now)
            return None, (f"Computing the figures of {now.label_rows:,} label rows (started "
                          f"{kept.reading_since:%H:%M:%S} UTC): they appear here when ready.")
    fresh = read(store, num_choices, now)
    with _LOCK:
        kept.figures = fresh
    return fresh, None


def ready(store_url: str) -> bool:
    """Whether figures are kept for this store, or a background reading of them has finished."""
    with _LOCK:
        kept = _KEPT.get(store_url)
        return kept is not None and (kept.figures is not None or (kept.reading is not None and kept.reading.done()))


def warm(store: LabelStore, num_choices: int) -> None:
    """Once per process and store: start reading a large store's figures in the background, so that they
    are ready when an admin first opens the dashboard. A small store is left to the page (it reads fast)."""
    with _LOCK:
        kept = _KEPT.setdefault(store.url, _Kept())
        if kept.warmed:
            return
        kept.warmed = True
    try:
        rows, _ = store.label_rows_and_newest()
    except DatabaseError:
        kept.warmed = False  # a head start only: the page that ran this goes on, a later run tries again
        return
    if rows > SYNC_LABELS:
        with _LOCK:
            if kept.figures is None:
                kept.start_reading(store, num_choices)


def settle(store_url: str, timeout: Optional[float] = None) -> None:
    """Wait until no background reading of this store is under way (for tests and bench/label_scale.py)."""
    with _LOCK:
        kept = _KEPT.get(store_url)
        reading = kept.reading if kept is not None else None
    if reading is not None:
        reading.exception(timeout)  # waits; an error is the next render's to handle
