"""The whole loop end to end on a tiny model with a simulated labeler."""

import json

LOOP = """name: loop
output_dir: {out}
model: {{name: {model}}}
task: {{name: sentiment, query_length: 16, response_length: 8, truncate_after: 2, truncate_field: text}}
prompts: {{kind: demo, path: stories, eval_fraction: 0.3}}
labeling: {{num_queries: 12, {labeling}}}
reward: {{batch_size: 4, gradient_accumulation_steps: 1, normalize_samples: 8, eval_fraction: 0.25}}
policy: {{batch_size: 4, total_episodes: 8, ppo_epochs: 1, sample_every: 0}}
evaluation: {{num_queries: 6, samples_per_query: 2, batch_size: 8}}
"""


def write_loop(tmp_path, model, labeling="simulator: sentiment"):
    path = tmp_path / "loop.yaml"
    path.write_text(LOOP.format(out=tmp_path / "runs", model=model, labeling=labeling))
    return str(path)


def test_the_whole_loop_writes_every_artifact_and_then_skips_finished_stages(tmp_path, tiny_llama, cli):
    path = write_loop(tmp_path, tiny_llama)
    code, _, err = cli("run", "--config", path)
    assert code == 0, err
    run = tmp_path / "runs" / "loop"
    for artifact in ("config.yaml", "labels.db", "reward_model/reward_head.json", "policy/metrics.json",
                     "eval/metrics.json", "eval/samples.jsonl", "report.md", "report.html", "plots/win_rates.png"):
        assert (run / artifact).is_file(), artifact
    metrics = json.loads((run / "eval" / "metrics.json").read_text())
    assert metrics["judges"]["simulated:sentiment"]["policy"]["n"] == 6
    assert "policy vs zero-shot by simulated:sentiment" in err
    code, _, err = cli("run", "--config", path)
    assert code == 0, err
    for stage in ("sample", "reward", "policy", "evaluate"):
        assert f"{stage}: skipped" in err


def test_human_labeling_stops_after_sampling_and_says_how_to_go_on(tmp_path, tiny_gpt2, cli):
    path = write_loop(tmp_path, tiny_gpt2, labeling="samples_per_query: 4")
    code, _, err = cli("run", "--config", path)
    assert code == 0, err
    assert "12 batches of round 0 wait for human labels" in err and "rlhf label --config" in err
    run = tmp_path / "runs" / "loop"
    assert (run / "labels.db").is_file() and not (run / "reward_model").exists()


def test_a_second_round_samples_from_the_first_rounds_policy_into_the_same_store(tmp_path, tiny_gpt2, cli):
    from rlhf.labeling.schema import BatchRow
    from rlhf.labeling.store import LabelStore

    path = write_loop(tmp_path, tiny_gpt2)
    code, _, err = cli("run", "--config", path, "--rounds", "2")
    assert code == 0, err
    first, second = tmp_path / "runs" / "loop", tmp_path / "runs" / "loop-round1"
    assert (second / "eval" / "metrics.json").is_file() and not (second / "labels.db").exists()
    with LabelStore.for_run(first).session() as s:
        policies = {(b.round, b.policy) for b in s.query(BatchRow)}
    assert policies == {(0, str(tiny_gpt2)), (1, str(first / "policy"))}
    metrics = json.loads((second / "eval" / "metrics.json").read_text())
    assert set(metrics["systems"]) == {"policy", "round-0"}
    # zero-shot and round 0's policy are not sampled again in round 1
    assert f"zero-shot: reusing samples from {first / 'eval' / 'systems' / 'zero-shot.json'}" in err
    assert f"round-0: reusing samples from {first / 'eval' / 'systems' / 'policy.json'}" in err


def test_one_config_compares_zero_shot_supervised_rl_and_supervised_plus_rl(tmp_path, tiny_llama, cli):
    path = tmp_path / "loop.yaml"
    path.write_text(LOOP.format(out=tmp_path / "runs", model=tiny_llama, labeling="simulator: sentiment").replace(
        "policy: {batch_size: 4,", "policy: {init_from: sft, also_from_base: true, batch_size: 4,").replace(
        "evaluation: {", "sft: {batch_size: 4, max_examples: 8}\nevaluation: {systems: {supervised: sft}, "))
    code, _, err = cli("run", "--config", str(path))
    assert code == 0, err
    run, rl_only = tmp_path / "runs" / "loop", tmp_path / "runs" / "loop-rl"
    assert (run / "sft" / "metrics.json").is_file() and (rl_only / "policy" / "metrics.json").is_file()
    assert "sft: held-out loss" in err and "start from" in err
    metrics = json.loads((run / "eval" / "metrics.json").read_text())
    assert set(metrics["judges"]["simulated:sentiment"]) == {"policy", "supervised", "rl"}
    assert "supervised" in (run / "report.md").read_text()
    code, _, err = cli("run", "--config", str(path))
    assert code == 0 and "sft: skipped" in err and "loop-rl/policy is trained" in err
