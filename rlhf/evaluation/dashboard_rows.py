"""The evaluation summaries of the runs in one output_dir, side by side (the dashboard and the report).

Each run's evaluation writes `<output_dir>/<run>/eval/metrics.json`:

    {"task": str, "baseline": "zero-shot", "systems": [names], "queries": int, "samples_per_query": int,
     "judges": {judge: {system: {"wins", "losses", "ties", "n", "win_rate", "low", "high"}}},
     "mean_scores": {judge: {system: float}}}

`eval_summaries` reads them all. A run without the file is not evaluated yet and is left out; a file
that cannot be read or does not have that shape is left out too, with a note saying why (appended
to `notes` when given, and logged), so one broken run never hides the others.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Optional

from rlhf.run.layout import RunLayout

log = logging.getLogger(__name__)

METRICS = RunLayout(Path()).eval / "metrics.json"  # relative to a run directory
_RATE_FIELDS = ("win_rate", "low", "high")


def eval_summaries(output_dir: str | Path, notes: Optional[list[str]] = None) -> list[dict]:
    """Each evaluated run's metrics.json as a dict, plus "run" (its directory name) and "path"; by run name."""
    root = Path(output_dir).expanduser()
    summaries = []
    try:
        run_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError as error:
        _note(notes, f"cannot list the runs in {root}: {error.strerror or error}")
        return []
    for run_dir in run_dirs:
        path = run_dir / METRICS
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            problem = _problem(data)
        except (OSError, UnicodeDecodeError) as error:
            problem = f"cannot be read ({getattr(error, 'strerror', None) or error})"
        except json.JSONDecodeError as error:
            problem = f"is not valid JSON ({error})"
        if problem:
            _note(notes, f"skipped run {run_dir.name}: {path} {problem}")
            continue
        summaries.append({**data, "run": run_dir.name, "path": str(path)})
    return summaries


def policy_systems(summary: dict) -> list[str]:
    """The systems compared against the baseline, in the file's order."""
    baseline = summary.get("baseline")
    systems = summary.get("systems") or sorted({s for per_system in summary["judges"].values() for s in per_system})
    return [s for s in systems if s != baseline]


def describe_rate(entry: Optional[dict]) -> str:
    """"62.0% [51.2%, 71.8%] (n=50)" for one judge's entry of one system; "" for none."""
    if not entry:
        return ""
    n = f" (n={entry['n']})" if isinstance(entry.get("n"), int) else ""
    if math.isnan(entry["win_rate"]):  # nothing judged (WinRate of n = 0)
        return f"no judgements{n}"
    return f"{entry['win_rate']:.1%} [{entry['low']:.1%}, {entry['high']:.1%}]{n}"


def comparison_rows(summaries: list[dict]) -> list[dict]:
    """One row per run and non-baseline system: run, task, system, baseline, then one column per judge
    (every judge of any run; empty where a run has no such judge) with the win rate and its interval."""
    judges = sorted({judge for summary in summaries for judge in summary["judges"]})
    rows = []
    for summary in summaries:
        for system in policy_systems(summary):
            row = {"run": summary["run"], "task": summary.get("task", ""), "system": system,
                   "baseline": summary.get("baseline", "")}
            for judge in judges:
                row[judge] = describe_rate(summary["judges"].get(judge, {}).get(system))
            rows.append(row)
    return rows


def _problem(data) -> Optional[str]:
    """What is wrong with a parsed metrics.json, or None when it has the expected shape."""
    if not isinstance(data, dict):
        return "is not a JSON object"
    if not isinstance(data.get("task", ""), str):
        return "has a task that is not a string"
    if "systems" in data and not (isinstance(data["systems"], list) and all(isinstance(s, str) for s in data["systems"])):
        return "has systems that are not a list of names"
    judges = data.get("judges")
    if not isinstance(judges, dict):
        return "has no judges"
    for judge, per_system in judges.items():
        if not isinstance(per_system, dict):
            return f"has judge {judge!r} without systems"
        for system, entry in per_system.items():
            if not isinstance(entry, dict) or not all(_is_number(entry.get(k)) for k in _RATE_FIELDS):
                return f"has no win_rate, low and high for judge {judge!r}, system {system!r}"
    return None


def _is_number(value) -> bool:
    """A number; NaN included (the win rate of nothing judged, written by json.dumps as NaN)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isinf(value)


def _note(notes: Optional[list[str]], message: str) -> None:
    log.warning(message)
    if notes is not None:
        notes.append(message)
