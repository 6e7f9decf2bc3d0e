"""What a report reads: one run directory's artifacts, every stage but the config optional.

Reads config.yaml, reward_model/metrics.json, policy/training_log.json and metrics.json,
eval/metrics.json and samples.jsonl; the labels and human judgements are read afresh from the label
store (`label_store.read_label_store`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from rlhf.errors import DataError, RLHFError
from rlhf.run.layout import METRICS, RunLayout

if TYPE_CHECKING:
    from rlhf.report.label_store import StoreData


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
    store: Optional["StoreData"] = None  # the label store's labels and human judgements
    store_note: str = ""  # why a store the config names was not read
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
    def trained_on_labeler(self) -> bool:
        """Whether PPO optimised the simulated labeler's score itself (policy.reward: simulated)."""
        policy = self.config.get("policy")
        return isinstance(policy, dict) and policy.get("reward") == "simulated"

    @property
    def baseline(self) -> str:
        return (self.eval or {}).get("baseline", "zero-shot")

    def config_arg(self) -> str:
        """The config path to put in a suggested command: relative to here when the run is below here."""
        path = RunLayout(self.path).config
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

    from rlhf.config.loader import load_yaml
    from rlhf.report.label_store import read_label_store

    path = Path(path)
    if path.name == "config.yaml" and path.is_file():  # `--config runs/x/config.yaml` habits
        path = path.parent
    layout = RunLayout(path)
    if not layout.config.is_file():
        why = "does not exist" if not path.exists() else "has no config.yaml"
        raise RLHFError(f"{path} is not a run directory ({why}); give runs/<name> of a run the other commands made")
    try:
        config = load_yaml(layout.config.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DataError(f"{layout.config} is not valid YAML: {exc}") from exc
    if not isinstance(config, dict):
        raise DataError(f"{layout.config} is not a mapping of config keys")
    log = _read_json(layout.policy / "training_log.json")
    evaluation = _read_json(layout.eval / METRICS)
    baseline = evaluation.get("baseline", "zero-shot") if isinstance(evaluation, dict) else "zero-shot"
    store, note = read_label_store(path, config, baseline)
    if isinstance(evaluation, dict) and store and store.human.win_rates:
        # Human win rates as of now: labelers keep judging pairs in the app after `rlhf evaluate` ran.
        evaluation.setdefault("judges", {})["human"] = store.human.rates()
    return Run(path=path, config=config, reward=_read_json(layout.reward_model / METRICS),
               policy=_read_json(layout.policy / METRICS), log=log if isinstance(log, list) else None,
               eval=evaluation, samples=_read_jsonl(layout.eval / "samples.jsonl"), store=store, store_note=note)
