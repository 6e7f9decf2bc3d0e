"""The run this app serves: the config named by RLHF_CONFIG and its label store, loaded once per process.

Every page calls `run_context()`. A missing or broken config, or a store that cannot be opened, is
one error on the page and the script stops there: nothing below it runs half-configured.
"""

from __future__ import annotations

import gc
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import NoReturn, Optional

import streamlit as st

from labeling_app import dashboard_figures
from rlhf.config.run_config import Config, load_config
from rlhf.config.secrets import redact
from rlhf.errors import RLHFError
from rlhf.labeling.engine import missing_sqlite_file
from rlhf.labeling.schema import as_utc
from rlhf.labeling.store import DatabaseError, LabelStore

ENV = "RLHF_CONFIG"
HOW_TO_START = (f"Start the app with `{ENV}=runs/<name>/config.yaml streamlit run labeling_app/app.py` "
                "(or `rlhf label --config ...`).")


@dataclass(frozen=True)
class RunContext:
    config_path: Path
    config: Config
    store: LabelStore


def run_context() -> RunContext:
    """The run's config and store; on any problem, one error on the page and the script stops."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        _fail(f"{ENV} is not set, so the app does not know which run to label. {HOW_TO_START}")
    path = Path(raw).expanduser().resolve()
    try:
        # The file's modification time is part of the cache key: an edited config is read again.
        config = _load_config(str(path), path.stat().st_mtime_ns)
    except OSError as error:
        _fail(f"Cannot read the run config {path} ({ENV}): {error.strerror or error}. {HOW_TO_START}")
    except RLHFError as error:
        _fail(f"The run config {path} ({ENV}) is broken: {error}")
    try:
        store = _open_store(config.database_url)
    except _NoStore as missing:
        _fail(f"There is no label store at {missing}. Create it with the rlhf CLI (`rlhf sample`, `rlhf labelers add`) "
              "from the same working directory, or give the run an absolute output_dir.")
    except (DatabaseError, RLHFError, ImportError) as error:  # ImportError: the URL's driver is missing
        # Neither the URL nor the driver's message shows the password.
        _fail(redact(f"Cannot open the label store {config.database_url}: {error}", config.database_url))
    _freeze_startup_objects()
    # Once per process: a large store's dashboard figures start computing now, not when an admin asks.
    dashboard_figures.warm(store, config.labeling.samples_per_query)
    return RunContext(path, config, store)


def min_reading_seconds(run: RunContext) -> float:
    """A choice sooner than this after its item appeared is a bounce (`labeling.min_seconds`)."""
    return run.config.labeling.min_seconds


def shown_at(handed_out: Optional[datetime]) -> float:
    """The monotonic time an item was first shown: when the store handed it out (an assignment or a
    claim made before this session, restored after a reload or a restart), else now."""
    if handed_out is None:
        return time.monotonic()
    age = (datetime.now(timezone.utc) - as_utc(handed_out)).total_seconds()
    return time.monotonic() - max(0.0, age)


@st.cache_resource(show_spinner=False)
def _load_config(path: str, mtime_ns: int) -> Config:
    return load_config(path)


class _NoStore(Exception):
    """An SQLite store file that does not exist: opening it would silently create an empty one."""


@st.cache_resource(show_spinner=False)
def _open_store(url: str) -> LabelStore:
    missing = missing_sqlite_file(url)
    if missing is not None:
        raise _NoStore(str(missing))  # not cached: the next run looks again
    return LabelStore(url)


@st.cache_resource(show_spinner=False)
def _freeze_startup_objects() -> bool:
    """Once per process, hide what the imports made (torch, transformers: millions of objects) from
    the garbage collector. Without this each full collection scanned them all: pauses of 250-550 ms
    in the middle of reruns, every few labels (measured with the latency benchmark)."""
    gc.collect()
    gc.freeze()
    return True


def _fail(message: str) -> NoReturn:
    st.error(message, icon=":material/block:")
    st.stop()
