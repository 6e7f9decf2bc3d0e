"""`rlhf report`: one readable summary of one or several run directories, as markdown and HTML.

Reads what the stages left in runs/<name>/ (config.yaml, reward_model/metrics.json,
policy/training_log.json and metrics.json, eval/metrics.json and samples.jsonl); every stage but
the config is optional, and a missing one is named in the report with the command that makes it.
Writes report.md, report.html and plots/*.png, each atomically, into the output directory.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Optional, Sequence

from rlhf.errors import DataError, RLHFError
from rlhf.report_render import render_html, render_markdown, slug
from rlhf.run_dir import write_text

REPORT_FILES = ("report.md", "report.html")


@dataclass
class Run:
    """What one run directory holds; None for a stage that has not run."""

    path: Path
    config: dict
    reward: Optional[dict] = None
    policy: Optional[dict] = None
    log: Optional[list] = None
    eval: Optional[dict] = None
    samples: Optional[list] = None
    key: str = ""  # prefix of this run's plot files and anchors ("" for a single run)

    @property
    def name(self) -> str:
        return str(self.config.get("name") or self.path.name)

    @property
    def task(self) -> str:
        task = self.config.get("task")
        return str(task.get("name", "?") if isinstance(task, dict) else task or "?")

    @property
    def model(self) -> str:
        model = self.config.get("model")
        return str(model.get("name", "?") if isinstance(model, dict) else model or "?")

    @property
    def baseline(self) -> str:
        return (self.eval or {}).get("baseline", "zero-shot")

    def config_arg(self) -> str:
        """The config path to put in a suggested command: relative to here when the run is below here."""
        path = self.path / "config.yaml"
        try:
            relative = os.path.relpath(path)
        except ValueError:  # another drive on Windows
            return str(path.resolve())
        return str(path.resolve()) if relative.startswith("..") else relative

    def win_records(self) -> list[tuple[str, str, dict]]:
        """(judge, system, {"win_rate", "low", "high", "wins", ...}) for every judged system."""
        judges = (self.eval or {}).get("judges") or {}
        return [(judge, system, record) for judge, per_system in judges.items()
                for system, record in (per_system or {}).items() if isinstance(record, dict)]

    def primary_system(self) -> Optional[str]:
        """The system a headline is about: the policy when it was evaluated, else the first one."""
        systems = [s for _, s, _ in self.win_records()] + list((self.eval or {}).get("systems") or [])
        return "policy" if "policy" in systems else (systems[0] if systems else None)

    def sample_scores(self, judge: str) -> dict[str, list[float]]:
        """{system: every per-sample score by `judge`} from eval/samples.jsonl."""
        out: dict[str, list[float]] = {}
        for row in self.samples or []:
            for system, values in ((row.get("scores") or {}).get(judge) or {}).items():
                out.setdefault(system, []).extend(v for v in values if isinstance(v, (int, float)))
        return out

    def sample_judges(self) -> list[str]:
        return list(dict.fromkeys(j for row in self.samples or [] for j in (row.get("scores") or {})))

    def sample_lengths(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for row in self.samples or []:
            for system, texts in (row.get("systems") or {}).items():
                out.setdefault(system, []).extend(len(str(t).split()) for t in texts)
        return out


def _read_json(path: Path):
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not valid JSON ({exc}); run the stage that wrote it again") from exc


def _read_jsonl(path: Path) -> Optional[list]:
    if not path.is_file():
        return None
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DataError(f"{path} line {number} is not valid JSON ({exc})") from exc
    return rows


def load_run(path: str | Path) -> Run:
    """A run directory's artifacts; RLHFError when `path` is not a run directory."""
    import yaml

    from rlhf.config_loader import load_yaml

    path = Path(path)
    if path.name == "config.yaml" and path.is_file():  # `--config runs/x/config.yaml` habits
        path = path.parent
    if not (path / "config.yaml").is_file():
        why = "does not exist" if not path.exists() else "has no config.yaml"
        raise RLHFError(f"{path} is not a run directory ({why}); give runs/<name> of a run the other commands made")
    try:
        config = load_yaml((path / "config.yaml").read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DataError(f"{path / 'config.yaml'} is not valid YAML: {exc}") from exc
    if not isinstance(config, dict):
        raise DataError(f"{path / 'config.yaml'} is not a mapping of config keys")
    log = _read_json(path / "policy" / "training_log.json")
    evaluation = _read_json(path / "eval" / "metrics.json")
    if isinstance(evaluation, dict):
        _refresh_human_judgements(evaluation, path, config)
    return Run(path=path, config=config, reward=_read_json(path / "reward_model" / "metrics.json"),
               policy=_read_json(path / "policy" / "metrics.json"), log=log if isinstance(log, list) else None,
               eval=evaluation, samples=_read_jsonl(path / "eval" / "samples.jsonl"))


def _refresh_human_judgements(evaluation: dict, path: Path, config: dict) -> None:
    """Human win rates as of now: labelers keep judging pairs in the app after `rlhf evaluate` ran."""
    from rlhf.config import unmask_database_url
    from rlhf.errors import ConfigError
    from rlhf.evaluate import store_win_rates
    from rlhf.label_store import sqlite_url

    url = (config.get("labeling") or {}).get("database_url")
    if not url and not (path / "labels.db").is_file():
        return
    if url:
        try:
            url = unmask_database_url(url)  # the copy's password is masked; RLHF_DATABASE_URL has the real one
        except ConfigError:
            return  # no password to reach the store: the judgements stored at evaluation time stay
    rates = store_win_rates(url or sqlite_url(path / "labels.db"), evaluation.get("baseline", "zero-shot"))
    if rates:
        evaluation.setdefault("judges", {})["human"] = rates


def _output_dir(runs: Sequence[Run], out_dir) -> Path:
    if out_dir is None:
        if len(runs) > 1:
            raise RLHFError(f"{len(runs)} runs need an output directory: pass --out DIR")
        return runs[0].path
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise RLHFError(f"--out {out} is a file, not a directory")
    return out


def _assign_keys(runs: Sequence[Run]) -> None:
    """Distinct plot-file prefixes for several runs (two runs may share a name)."""
    if len(runs) == 1:
        return
    seen: set[str] = set()
    for number, run in enumerate(runs, 1):
        key = slug(run.name)
        run.key = f"{key}-{number}" if key in seen else key
        seen.add(key)


def _win_bars(runs: Sequence[Run]):
    from rlhf.report_plots import WinBar

    bars = []
    for run in runs:
        for judge, system, r in run.win_records():
            if isinstance(r.get("win_rate"), (int, float)) and r.get("n"):
                label = f"{judge}: {system}" if len(runs) == 1 else f"{run.name} · {judge}: {system}"
                bars.append(WinBar(label, r["win_rate"], r.get("low", r["win_rate"]), r.get("high", r["win_rate"]), judge))
    return bars


def make_plots(runs: Sequence[Run], out: Path) -> dict[str, str]:
    """Draw every plot the data allows; {plot key: path relative to `out`}."""
    from rlhf import report_plots as plots

    made: dict[str, Optional[Path]] = {}
    bars = _win_bars(runs)
    if bars:
        made["win_rates"] = plots.win_rates(bars, out / "plots" / "win_rates.png", runs[0].baseline)
    for run in runs:
        prefix = f"{run.key}-" if run.key else ""
        target = lambda name: out / "plots" / f"{prefix}{name}.png"
        if run.log:
            made[prefix + "training"] = plots.training(run.log, target("training"))
        if run.samples:
            judges = [j for j in run.sample_judges() if j == "reward_model" or j.startswith("simulated")]
            shown = {run.baseline, run.primary_system()}  # policy against baseline, as the win rates compare
            panels = {j: {s: v for s, v in run.sample_scores(j).items() if s in shown}
                      for j in sorted(judges, key=lambda j: j != "reward_model")}
            made[prefix + "reward_distribution"] = plots.score_histograms(panels, target("reward_distribution"), run.baseline)
            made[prefix + "lengths"] = plots.lengths(run.sample_lengths(), target("lengths"), run.baseline)
    return {key: path.relative_to(out).as_posix() for key, path in made.items() if path is not None}


def write_report(run_dirs: Sequence[str | Path], out_dir: str | Path | None = None, samples: int = 8) -> dict[str, Path]:
    """Write report.md, report.html and plots/*.png; {file name relative to the output: its path}."""
    from rlhf.report_sections import build_document

    if not run_dirs:
        raise RLHFError("give at least one run directory")
    if samples < 0:
        raise RLHFError(f"--samples must be 0 or more, not {samples}")
    runs = [load_run(p) for p in run_dirs]  # every run is read before anything is written
    out = _output_dir(runs, out_dir)
    _assign_keys(runs)
    plots = make_plots(runs, out)
    doc = build_document(runs, plots, samples, datetime.now().astimezone())
    written = {"report.md": write_text(out / "report.md", render_markdown(doc)),
               "report.html": write_text(out / "report.html", render_html(doc))}
    written.update({rel: out / rel for rel in plots.values()})
    return written
