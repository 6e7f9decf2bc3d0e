"""The shipped run configs load, and the quick start's runs end to end (on a tiny model)."""

from pathlib import Path

import pytest

from rlhf.config.run_config import load_config

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_loads(path, shared_data, monkeypatch):
    monkeypatch.chdir(ROOT)  # configs name ../shared/data relative to the repository root, where they are run
    config = load_config(str(path))
    assert config.name and config.task.name


def test_the_quick_start_config_runs_the_whole_loop(tmp_path, tiny_llama, cli):
    quickstart = next(p for p in CONFIGS if p.name == "quickstart.yaml")
    small = ["--model.name", str(tiny_llama), "--output_dir", str(tmp_path / "runs"), "--task.query_length", "16",
             "--task.response_length", "8", "--task.truncate_after", "2", "--task.truncate_field", "text",
             "--labeling.num_queries", "12", "--reward.normalize_samples", "8", "--reward.eval_fraction", "0.25",
             "--reward.backbone_layers", "1",
             "--policy.total_episodes", "8", "--policy.batch_size", "4", "--policy.ppo_epochs", "1",
             "--evaluation.num_queries", "4", "--evaluation.samples_per_query", "2"]
    code, _, err = cli("run", "--config", str(quickstart), *small)
    assert code == 0, err
    run = tmp_path / "runs" / "quickstart"
    assert (run / "report.html").is_file() and (run / "eval" / "metrics.json").is_file()
    assert "simulated:sentiment" in (run / "report.md").read_text()
