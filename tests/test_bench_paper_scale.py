"""bench/paper_scale.py: the projected wall time of the paper-sized config from measured stage costs."""

import json

from bench_modules import load_bench

paper_scale = load_bench("paper_scale")


def paper_config(tmp_path):
    return paper_scale.run_config(paper_scale.parse_args([]), tmp_path)


def test_the_paper_sized_config_is_5000_labels_and_a_million_episodes_in_batches_of_512(tmp_path):
    config = paper_config(tmp_path)
    assert config.labeling.num_queries == 5000 and config.policy.total_episodes == 1_000_000
    assert config.policy.batch_size == 512 and config.policy.bf16 is None  # auto: measured on the machine that runs it


def test_the_projection_scales_the_rollout_and_training_but_counts_the_optimizer_steps(tmp_path):
    config = paper_config(tmp_path)
    costs = {"sample_s": 0.5, "reward_step_s": 2.0,
             "ppo": {"update_s": 10.0, "optimizer_step_s": 0.5, "optimizer_steps": 4, "batch": 64}}
    projection = paper_scale.project(config, costs)
    p = config.policy
    per_update = (10.0 - 4 * 0.5) * (512 / 64) + p.mini_batches * p.ppo_epochs * 0.5
    assert projection["updates"] == 1954 and projection["per_update_s"] == per_update
    assert projection["policy"] == 1954 * per_update
    assert projection["sample"] == 5000 * 4 * 0.5
    assert projection["reward"] == -(-5000 // config.reward.batch_size) * 2.0 and isinstance(projection["reward_steps"], int)
    assert projection["evaluate"] == config.evaluation.num_queries * config.evaluation.samples_per_query * 2 * 0.5


def test_the_quick_run_measures_every_stage_and_prints_the_projection(tmp_path, capsys):
    out = tmp_path / "scale.json"
    assert paper_scale.main(["--quick", "--workdir", str(tmp_path / "work"), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert all(stage in printed for stage in ("sample", "reward", "policy", "evaluate", "total"))
    figures = json.loads(out.read_text())
    assert figures["costs"]["sample_s"] > 0 and figures["costs"]["reward_step_s"] > 0
    assert figures["costs"]["ppo"]["update_s"] > 0 and figures["projection"]["updates"] == 1954
