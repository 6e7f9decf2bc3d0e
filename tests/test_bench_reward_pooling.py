import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
from bench_modules import load_bench

bench = load_bench("reward_pooling")


def test_agreement_compares_only_same_prompt_pairs_the_labeler_tells_apart():
    pairs = [("q", " a"), ("q", " b"), ("q", " c"), ("r", " d"), ("r", " e"), ("r", " e")]
    prompts = ["q", "q", "q", "r", "r", "r"]
    scores = [0.0, 0.5, 0.5, 0.1, 0.9, 0.9]
    rewards = [1.0, 2.0, 0.0, 3.0, 1.0, 1.0]
    rho, alike, compared = bench.agreement(rewards, scores, prompts, pairs)
    # q: (a,b) ordered alike, (a,c) not, (b,c) tied by the labeler; r: (d,e) twice, both reversed; (e,e) identical text
    assert compared == 4 and alike == pytest.approx(1 / 4)
    # Average ranks: rewards (3, 5, 1, 6, 3, 3), scores (1, 3.5, 3.5, 2, 5.5, 5.5), both of mean 3.5;
    # the sums of co-deviations and squared deviations are -4.5, 15.5 and 16.5.
    assert rho == pytest.approx(-4.5 / math.sqrt(15.5 * 16.5))


def test_spearman_gives_tied_scores_their_average_rank():
    # Labeler ties at 0 (first in the file) must not be ordered by file position: with average
    # ranks, scores (1.5, 1.5, 3, 4) against rewards (1, 2, 3, 4) give a Pearson of 0.9487 on ranks.
    pairs = [("q", f" {i}") for i in range(4)]
    rho, _, _ = bench.agreement([1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.2, 0.7], ["q"] * 4, pairs)
    assert rho == pytest.approx(0.9486833, abs=1e-6)


# -- fairness: zero-shot samples only, labels the shipped settings were not chosen on ---------------

def record(query_id, prompt, policy="base", round_=0):
    return SimpleNamespace(query_id=query_id, prompt=prompt, policy=policy, round=round_)


def test_the_fresh_set_must_hold_zero_shot_samples_only():
    clean = [record("austen-1", "It was a truth"), record("austen-2", "Emma Woodhouse")]
    assert bench.fairness_problems(clean, "base", set(), set()) == []
    [problem] = bench.fairness_problems([*clean, record("austen-3", "Sir Walter", policy="runs/quickstart/policy")], "base", set(), set())
    assert "austen-3" in problem and "zero-shot" in problem
    assert bench.fairness_problems([record("austen-4", "Catherine", round_=1)], "base", set(), set())
    assert bench.fairness_problems([], "base", set(), set()) == ["no fresh labels"]


def test_the_fresh_set_must_not_share_a_prompt_with_the_run_that_chose_the_settings():
    fresh = [record("austen-1", "It was a truth"), record("q0", "another text"), record("austen-9", "Article: the council met.")]
    problems = bench.fairness_problems(fresh, "base", {"q0"}, {"Article: the council met."})
    assert len(problems) == 2 and "'q0'" in problems[0] and "'austen-9'" in problems[1]


def test_the_runs_prompts_are_its_labeled_and_its_evaluated_queries(tmp_path):
    from label_fixtures import labeled_store

    run = tmp_path / "run"
    run.mkdir()
    labeled_store(run / "labels.db")
    ids, texts = bench.run_prompts(run)
    assert ids == {"q0", "q1", "q2"} and "Article: the council met.\n\nTL;DR:" in texts
    (run / "eval").mkdir()
    (run / "eval" / "samples.jsonl").write_text(json.dumps({"query_id": "e7", "query": "An evaluation opening.", "systems": {}}) + "\n")
    ids, texts = bench.run_prompts(run)
    assert "e7" in ids and "An evaluation opening." in texts


def test_the_fresh_labels_are_austen_from_the_base_model_in_a_store_of_their_own(tmp_path):
    from rlhf.config.run_config import load_config, write_run_config

    run_config = load_config(str(Path(__file__).parents[1] / "configs" / "quickstart.yaml"),
                             [("output_dir", str(tmp_path)), ("labeling.database_url", "sqlite:////elsewhere/labels.db"),
                              ("labeling.policy", str(tmp_path / "policy"))])
    write_run_config(run_config)
    config = bench.fresh_config(run_config.run_dir, tmp_path / "fresh", 150, bench.FRESH_LABELS_SEED)
    assert config.seed == bench.FRESH_LABELS_SEED != run_config.seed
    assert config.prompt_source.path == str(bench.AUSTEN) and run_config.prompt_source.path == "stories"
    assert config.labeling.policy is None and config.labeling.round == 0  # the base model's samples
    assert config.database_url != run_config.database_url and str(tmp_path / "fresh") in config.database_url
    assert config.labeling.simulator == run_config.labeling.simulator


def test_the_labelers_ceiling_splits_ties():
    scores = [0.9, 0.1, 0.0, 0.2, 0.0, 0.0, 0.0, 0.0, 0.5, 0.1, 0.1, 0.1]
    assert bench.labeler_ceiling(scores, [0, 2, 1]) == pytest.approx((1 + 0.25 + 0) / 3)


def test_quick_keeps_head_mean_23_within_the_tiny_models_layers():
    assert bench.variant_settings("head-mean-23")["reward.backbone_layers"] == 23
    assert bench.variant_settings("head-mean-23", quick=True)["reward.backbone_layers"] == bench.QUICK_LAYERS
    assert bench.variant_settings("paper", quick=True)["reward.backbone_layers"] is None


def test_quick_judges_variants_on_fresh_zero_shot_labels_of_prompts_the_run_never_saw(tmp_path, shared_data, capsys):
    from reward.data import choices_from_store
    from rlhf.labeling.store import LabelStore

    out = tmp_path / "rows.json"
    args = ["--quick", "--variants", "head-mean-23", "--seeds", "1", "--eval-prompts", "8", "--workdir", str(tmp_path), "--json", str(out)]
    assert bench.main(args) == 0
    [row] = json.loads(out.read_text())
    assert row["variant"] == "head-mean-23" and row["fresh_labels"] == 8 and 0 <= row["fresh_acc"] <= 1
    printed = capsys.readouterr().out
    assert "| head-mean-23 |" in printed and "no policy samples" in printed
    [fresh_dir] = (tmp_path / "fresh").iterdir()
    fresh = LabelStore.for_run(fresh_dir).training_labels()
    run_ids = {c.query_id for c in choices_from_store(LabelStore.for_run(tmp_path / "tiny-quickstart"))}
    assert len(fresh) == 8 and {r.policy for r in fresh} == {str(tmp_path / "tiny-model")}
    assert not {r.query_id for r in fresh} & run_ids
