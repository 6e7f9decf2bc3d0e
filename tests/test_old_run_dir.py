"""A run directory written by older code still resumes, reports and exports.

tests/fixtures/old_run/ was written by tests/fixtures/make_old_run.py (its README names the commit):
a tiny Llama in model/ and run `old` in runs/old/, cut off after the policy stage (sample, label,
reward and policy finished; no eval/ and no report). Only the `rlhf` command is used here, never
the package's modules, so the test keeps its meaning when the code moves around.
"""

import json
import shutil
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "old_run"
RUN = Path("runs") / "old"
CONFIG = str(RUN / "config.yaml")
LABELS = 12  # the fixture's simulated labeler labeled every one of its 12 batches


@pytest.fixture
def old_run(tmp_path) -> Path:
    """A copy of the fixture in tmp_path, which is already the working directory (conftest)."""
    shutil.copytree(FIXTURE, tmp_path, dirs_exist_ok=True)
    run = tmp_path / RUN
    assert (run / "policy" / "metrics.json").is_file() and (run / "reward_model" / "reward_head.json").is_file()
    assert not (run / "eval").exists() and not (run / "report.md").exists()
    return run


def test_an_old_run_cut_off_after_the_policy_resumes_with_evaluate_and_report(old_run, cli):
    code, _, err = cli("run", "--config", CONFIG)
    assert code == 0, err
    assert f"sample: skipped, {LABELS} batches of round 0 are stored" in err
    assert "label: sim:sentiment stored 0 labels" in err
    assert "reward: skipped" in err and "policy: skipped" in err
    assert "evaluate: skipped" not in err
    assert "policy vs zero-shot by simulated:sentiment" in err
    for artifact in ("eval/metrics.json", "eval/samples.jsonl", "report.md", "report.html"):
        assert (old_run / artifact).is_file(), artifact
    rate = json.loads((old_run / "eval" / "metrics.json").read_text())["judges"]["simulated:sentiment"]["policy"]
    outcomes = prompt_outcomes(old_run / "eval" / "samples.jsonl", "simulated:sentiment", "policy")
    assert rate["n"] == 6 and (rate["wins"], rate["ties"], rate["losses"]) == tuple(outcomes.count(o) for o in ("win", "tie", "loss"))
    assert rate["win_rate"] == pytest.approx((rate["wins"] + rate["ties"] / 2) / rate["n"])

    code, _, err = cli("report", str(RUN))
    assert code == 0, err
    assert "policy" in (old_run / "report.md").read_text()


def prompt_outcomes(samples_file: Path, judge: str, system: str, baseline: str = "zero-shot") -> list[str]:
    """Each evaluated prompt's outcome for `system`, recomputed from the judge's sample scores: a prompt is
    won when the mean score of the system's samples beats the baseline's."""
    outcomes = []
    for line in samples_file.read_text().splitlines():
        scores = json.loads(line)["scores"][judge]
        difference = sum(scores[system]) / len(scores[system]) - sum(scores[baseline]) / len(scores[baseline])
        outcomes.append("tie" if abs(difference) <= 1e-9 else "win" if difference > 0 else "loss")
    return outcomes


def test_an_old_runs_label_store_exports(old_run, cli):
    code, _, err = cli("export", "--config", CONFIG)
    assert code == 0, err
    rows = [json.loads(line) for line in (old_run / "exports" / "best_of_4.jsonl").read_text().splitlines()]
    summary = json.loads((old_run / "exports" / "summary.json").read_text())
    assert len(rows) == summary["labels"] == LABELS
    assert {row["labeler"] for row in rows} == {"sim:sentiment"}
