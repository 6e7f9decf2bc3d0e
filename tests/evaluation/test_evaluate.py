import json
import shutil

import pytest
from ppo_fixtures import ppo_config, save_untrained_reward_model

import rlhf.evaluation.evaluate as evaluation
from rlhf.errors import RLHFError
from rlhf.labeling.store import LabelStore


def eval_config(tmp_path, model_dir, *extra):
    return ppo_config(tmp_path, model_dir, *eval_pairs(), *extra, name="ev")


def with_policy(config, model_dir):
    """A 'trained' policy that is the base model itself, so it must tie zero-shot exactly."""
    shutil.copytree(model_dir, config.run_dir / "policy")
    save_untrained_reward_model(config, model_dir)
    return config


def test_a_policy_identical_to_zero_shot_ties_on_every_prompt(tmp_path, tiny_llama):
    config = with_policy(eval_config(tmp_path, tiny_llama), tiny_llama)
    metrics = evaluation.evaluate(config, log=lambda m: None)
    assert set(metrics["judges"]) == {"simulated:sentiment", "reward_model"}
    for judge in metrics["judges"].values():
        rate = judge["policy"]
        assert rate["n"] == 6 and rate["ties"] == 6 and rate["win_rate"] == 0.5 and rate["low"] < 0.5 < rate["high"]
    rows = [json.loads(l) for l in (config.run_dir / "eval" / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 6 and all(r["systems"]["policy"] == r["systems"]["zero-shot"] for r in rows)
    assert all(len(r["systems"]["policy"]) == 2 and len(r["scores"]["reward_model"]["policy"]) == 2 for r in rows)
    saved = json.loads((config.run_dir / "eval" / "metrics.json").read_text())
    assert saved["systems"] == ["policy"] and saved["samples_per_query"] == 2 and saved["lengths"]["policy"] > 0
    kept = sorted(p.name for p in (config.run_dir / "eval" / "systems").iterdir())
    assert kept == ["policy.json", "zero-shot.json"]  # kept for a later round to reuse
    with pytest.raises(RLHFError, match="--overwrite"):
        evaluation.evaluate(config, log=lambda m: None)


def test_an_interrupted_evaluation_resumes_with_the_missing_systems(tmp_path, tiny_gpt2, monkeypatch):
    config = with_policy(eval_config(tmp_path, tiny_gpt2, ("evaluation.judges", ["simulated"])), tiny_gpt2)
    sampled = []
    real = evaluation.sample_system

    def crash_on_policy(config, system, queries, log=print):
        sampled.append(system.name)
        if system.name == "policy" and sampled.count("policy") == 1:
            raise KeyboardInterrupt
        return real(config, system, queries, log)

    monkeypatch.setattr(evaluation, "sample_system", crash_on_policy)
    with pytest.raises(KeyboardInterrupt):
        evaluation.evaluate(config, log=lambda m: None)
    assert not (config.run_dir / "eval" / "metrics.json").exists()
    metrics = evaluation.evaluate(config, log=lambda m: None)
    assert sampled == ["zero-shot", "policy", "policy"] and metrics["judges"]["simulated:sentiment"]["policy"]["n"] == 6


def test_a_later_run_reuses_the_samples_of_the_systems_it_shares_and_samples_the_rest(tmp_path, tiny_gpt2, monkeypatch):
    first = with_policy(eval_config(tmp_path, tiny_gpt2, ("evaluation.judges", ["simulated"])), tiny_gpt2)
    before = evaluation.evaluate(first, log=lambda m: None)
    earlier = ("evaluation.systems", {"round-0": str(first.run_dir / "policy")})
    second = ppo_config(tmp_path, tiny_gpt2, *eval_pairs(), ("evaluation.judges", ["simulated"]), earlier,
                        ("evaluation.reuse_samples_from", [str(first.run_dir)]), name="ev-round1")
    shutil.copytree(tiny_gpt2, second.run_dir / "policy")
    sampled = []
    real = evaluation.sample_system
    monkeypatch.setattr(evaluation, "sample_system", lambda c, system, q, log=print: sampled.append(system.name) or real(c, system, q, log))
    after = evaluation.evaluate(second, log=lambda m: None)
    assert sampled == ["policy"]  # zero-shot and round 0's policy were drawn the same way in the first run
    old = [json.loads(l)["systems"] for l in (first.run_dir / "eval" / "samples.jsonl").read_text().splitlines()]
    new = [json.loads(l)["systems"] for l in (second.run_dir / "eval" / "samples.jsonl").read_text().splitlines()]
    assert [r["zero-shot"] for r in new] == [r["zero-shot"] for r in old]
    assert [r["round-0"] for r in new] == [r["policy"] for r in old]
    assert after["judges"]["simulated:sentiment"]["round-0"] == before["judges"]["simulated:sentiment"]["policy"]

    weights = next((first.run_dir / "policy").glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes())  # retrained in place: new file times
    evaluation.evaluate(second, log=lambda m: None, overwrite=True)
    assert sampled == ["policy", "round-0"]  # only the changed model is sampled again


def eval_pairs():
    return (("prompts.eval_fraction", 0.3), ("evaluation.num_queries", 6), ("evaluation.samples_per_query", 2),
            ("evaluation.batch_size", 4))


def test_summaries_add_reference_and_lead_systems_with_rouge_and_copying(tmp_path, tiny_llama):
    config = with_policy(eval_config(tmp_path, tiny_llama, ("task", "tldr"), ("prompts.path", "documents"),
                                     ("task.query_length", 120), ("task.response_length", 8), ("task.truncate_after", 2),
                                     ("prompts.eval_fraction", 0.5), ("evaluation.zero_shot_top_k", 2)), tiny_llama)
    systems = evaluation.systems_for(config)
    assert [s.name for s in systems] == ["zero-shot", "policy", "reference", "lead-3"] and systems[0].top_k == 2
    metrics = evaluation.evaluate(config, log=lambda m: None)
    assert set(metrics["summaries"]) == {"zero-shot", "policy", "reference", "lead-3"}
    assert metrics["summaries"]["reference"]["rouge1"] == pytest.approx(1.0)
    assert metrics["summaries"]["lead-3"]["copied_lead"] == pytest.approx(1.0)
    assert "simulated:rouge" in metrics["judges"] and metrics["judges"]["simulated:rouge"]["reference"]["wins"] > 0


def test_human_pairs_are_queued_once_blind_and_counted(tmp_path, tiny_gpt2):
    config = with_policy(eval_config(tmp_path, tiny_gpt2), tiny_gpt2)
    store = LabelStore.for_run(config.run_dir)
    assert evaluation.queue_human_pairs(config, store, log=lambda m: None) == 6
    assert evaluation.queue_human_pairs(config, store, log=lambda m: None) == 0
    pairs = store.comparisons()
    assert {p.a for p in pairs} == {"policy", "zero-shot"}  # sides are shuffled, not policy always first
    for pair in pairs[:4]:
        with store.session() as s, s.begin():
            row = s.get(type(pair), pair.id)
            row.winner, row.judge = ("a" if row.a == "policy" else "b"), "ann"
    rate = evaluation.human_win_rates(config)["policy"]
    assert (rate["wins"], rate["n"]) == (4, 4)


def test_nothing_to_compare_is_a_clear_error(tmp_path, tiny_gpt2):
    config = eval_config(tmp_path, tiny_gpt2)
    with pytest.raises(RLHFError, match="train-policy"):
        evaluation.evaluate(config, log=lambda m: None)
    assert not (config.run_dir / "eval").exists()


def test_lead_and_copying_are_measured_on_the_whole_document_not_the_part_that_fit(tmp_path, tiny_llama):
    from rlhf.evaluation.summaries import copy_stats

    config = with_policy(eval_config(tmp_path, tiny_llama, ("task", "tldr"), ("prompts.path", "documents"),
                                     ("task.query_length", 60), ("task.response_length", 8), ("task.truncate_after", 2),
                                     ("prompts.eval_fraction", 0.5), ("evaluation.judges", ["simulated"])), tiny_llama)
    metrics = evaluation.evaluate(config, log=lambda m: None)
    rows = [json.loads(l) for l in (config.run_dir / "eval" / "samples.jsonl").read_text().splitlines()]
    beyond_the_cut = [r for r in rows if r["systems"]["lead-3"][0].split(". ")[-1] not in r["query"]]
    assert beyond_the_cut  # the lead's last sentence lies past what fit in a 60-token query
    assert metrics["summaries"]["lead-3"]["copied_sentences"] == pytest.approx(1.0)  # all found in the whole document
    cut_source = beyond_the_cut[0]["query"].removesuffix("\n\nTL;DR:")
    assert copy_stats(beyond_the_cut[0]["systems"]["lead-3"][0], cut_source)["copied_sentences"] < 1.0
