"""What a report reads from a run's label store: the labels' statistics and the pairs people judged.

Read afresh each time a report is written, since labelers keep labeling and judging in the app
after the stages that used the store have finished. A run without a store reports none; a store
whose URL has a masked password (the run directory's copy of the config) is read only when
RLHF_DATABASE_URL supplies the password, and otherwise the report says why it is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from rlhf.evaluation.human import HumanEvaluation
from rlhf.labeling.summary import LabelSummary
from rlhf.run.layout import RunLayout, sqlite_url


@dataclass
class StoreData:
    batches: int  # sample batches in the store, every round
    labels: Optional[LabelSummary]  # None when nothing is labeled yet
    human: HumanEvaluation


def read_label_store(path: Path, config: dict, baseline: str = "zero-shot") -> tuple[Optional[StoreData], str]:
    """(what the store holds, or None; why it is None, or "" when there is no store at all)."""
    from rlhf.config.secrets import DATABASE_URL_ENV, mask_url, unmask_database_url
    from rlhf.errors import ConfigError
    from rlhf.evaluation.human import human_evaluation
    from rlhf.labeling.stats import DEFAULT_CHOICES
    from rlhf.labeling.store import LabelStore
    from rlhf.labeling.summary import summarize

    labeling = config.get("labeling") if isinstance(config.get("labeling"), dict) else {}
    url = labeling.get("database_url")
    layout = RunLayout(path)
    if not url and not layout.has_label_store():
        return None, ""
    if url:
        try:
            url = unmask_database_url(url)  # the copy's password is masked; RLHF_DATABASE_URL has the real one
        except ConfigError:
            return None, (f"The label store {mask_url(url)} is not read: its password is masked in this copy of the "
                          f"config; set {DATABASE_URL_ENV} to the full URL to include its labels.")
    store = LabelStore(url or sqlite_url(layout.label_store))
    try:
        labels = store.label_facts()
        summary = summarize(labels, store.labelers(), labeling.get("samples_per_query") or DEFAULT_CHOICES,
                            bool(labeling.get("count_machine_labelers")), gold=store.gold_tallies()) if labels else None
        return StoreData(store.count_batches(), summary, human_evaluation(store.comparisons(), baseline)), ""
    finally:
        store.engine.dispose()
