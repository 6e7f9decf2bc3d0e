import json
import random
import zipfile

import pytest
import torch
from conftest import write
from transformers import TrainerCallback

from reward.data import choices_from_store, split_by_query
from reward.train import to_pairs, train_reward
from rlhf.config.run_config import load_config
from rlhf.errors import RLHFError
from rlhf.labeling.store import LabelStore

WORDS = ["bright", "warm", "cold", "dark", "glad", "sad", "kind", "cruel"]


def make_config(tmp_path, model_dir, *extra):
    return load_config(None, [("model.name", str(model_dir)), ("output_dir", str(tmp_path)), ("name", "rm"),
                              ("reward.batch_size", 4), ("reward.gradient_accumulation_steps", 1),
                              ("reward.normalize_samples", 16), ("reward.logging_steps", 1), *extra])


def small_store(config, n=24, task="sentiment"):
    store = LabelStore.for_run(config.run_dir)
    rng = random.Random(0)
    store.add_queries([{"id": f"q{i}", "task": task, "prompt": f"Story {i} begins."} for i in range(n)])
    labeler = store.ensure_labeler("sim:test")
    for i in range(n):
        batch = store.add_batch(f"q{i}", [f" It was {w}." for w in rng.sample(WORDS, 4)], policy=config.model.name)
        store.submit(labeler.id, batch, choice=rng.randrange(4))
    return store


def test_skipped_flagged_and_superseded_labels_are_left_out_and_each_labeler_counts(tmp_path, tiny_gpt2):
    config = make_config(tmp_path, tiny_gpt2)
    store = small_store(config, n=4)
    ann, bob = store.add_labeler("ann", "password1"), store.add_labeler("bob", "password1")
    store.submit(ann.id, 1, choice=2)
    old = store.submit(bob.id, 1, choice=0)
    store.correct(old, choice=3)
    store.submit(ann.id, 2, skipped=True, reason="unclear")
    store.submit(bob.id, 2, flagged=True, reason="broken")
    choices = choices_from_store(store)
    assert len(choices) == 4 + 2 and sorted(c.best for c in choices if c.query_id == "q0")[-2:] == [2, 3]
    pairs = to_pairs(choices)
    assert len(pairs) == 3 * len(choices) and all(p.best == 0 and len(p.samples) == 2 for p in pairs)


def test_excluded_labelers_labels_are_left_out_and_counted(tmp_path, tiny_gpt2):
    from reward.train import load_choices

    config = make_config(tmp_path, tiny_gpt2, ("reward.exclude_labelers", ["bob", "nobody"]))
    store = small_store(config, n=4)
    ann, bob = store.add_labeler("ann", "password1"), store.add_labeler("bob", "password1")
    for batch in (1, 2, 3):
        store.submit(bob.id, batch, choice=1)
    store.submit(ann.id, 1, choice=2)
    said = []
    choices, excluded = load_choices(config, store, said.append)
    assert sorted(c.labeler for c in choices) == ["ann"] + ["sim:test"] * 4
    assert said == ["reward.exclude_labelers left out 3 labels of bob, 0 labels of nobody"]
    assert excluded == {"by_name": {"bob": 3, "nobody": 0}, "by_gold_accuracy": {}, "total": 3}
    everyone = make_config(tmp_path, tiny_gpt2, ("reward.exclude_labelers", ["ann", "bob", "sim:test"]))
    with pytest.raises(RLHFError, match="left no labels to train on"):
        load_choices(everyone, store)


def test_labelers_below_the_gold_accuracy_are_left_out_and_counted(tmp_path, tiny_gpt2):
    """Gold batches 1-6, their best sim:test's choice (6 of 6). ann gets 5 of 6 right, bob 1 of 6, cy 0 of 2
    (too few to judge)."""
    from reward.train import load_choices

    config = make_config(tmp_path, tiny_gpt2, ("reward.min_gold_accuracy", 0.5), ("reward.min_gold_items", 3))
    store = small_store(config, n=10)
    best = {label.batch_id: label.choice for label in store.labels() if label.batch_id <= 6}
    store.mark_gold(best.items(), "sim:test")
    wrong = {batch: (choice + 1) % 4 for batch, choice in best.items()}
    ann, bob, cy = (store.add_labeler(name, "password1") for name in ("ann", "bob", "cy"))
    for batch in range(1, 7):
        store.submit(ann.id, batch, choice=best[batch] if batch < 6 else wrong[batch])
        store.submit(bob.id, batch, choice=best[batch] if batch == 1 else wrong[batch])
    store.submit(bob.id, 7, choice=3)  # not gold: left out with the rest of bob's labels
    for batch in (1, 2):
        store.submit(cy.id, batch, choice=wrong[batch])
    everything = choices_from_store(store)
    said = []
    choices, excluded = load_choices(config, store, said.append)
    assert excluded == {"by_name": {}, "by_gold_accuracy": {"bob": 7}, "total": 7}
    assert len(choices) == len(everything) - 7 and "bob" not in {c.labeler for c in choices}
    assert sorted(c.labeler for c in choices if c.query_id == "q0") == ["ann", "cy", "sim:test"]  # gold labels train too
    assert said == ["reward.min_gold_accuracy 50% (on 3+ gold answers) left out 7 labels of bob (gold accuracy 1/6)"]
    strict = make_config(tmp_path, tiny_gpt2, ("reward.min_gold_accuracy", 0.9), ("reward.min_gold_items", 2),
                         ("reward.exclude_labelers", ["ann"]))
    choices, excluded = load_choices(strict, store, said.append)
    assert excluded == {"by_name": {"ann": 6}, "by_gold_accuracy": {"ann": 0, "bob": 7, "cy": 2}, "total": 15}
    assert {c.labeler for c in choices} == {"sim:test"}  # 6 of 6 right: kept
    off = make_config(tmp_path, tiny_gpt2)
    assert load_choices(off, store)[1]["total"] == 0 and len(load_choices(off, store)[0]) == len(everything)


def test_gold_accuracy_needs_the_label_store(tmp_path, tiny_gpt2):
    from reward.train import load_choices
    from rlhf.errors import ConfigError

    labels = write(tmp_path / "best_of_4.jsonl", json.dumps({"query": "Q", **{f"sample{i}": f"s{i}" for i in range(4)},
                                                            "best": 0, "labeler": "ann"}) + "\n")
    with pytest.raises(ConfigError, match="'reward.min_gold_accuracy': gold accuracy comes from the label store"):
        make_config(tmp_path, tiny_gpt2, ("reward.min_gold_accuracy", 0.5), ("reward.labels", str(labels)))
    config = make_config(tmp_path, tiny_gpt2, ("reward.min_gold_accuracy", 0.5))
    config.reward.labels = str(labels)  # past the config's own check, as a caller building settings by hand
    with pytest.raises(RLHFError, match="needs the label store's gold questions"):
        load_choices(config, None)
    with pytest.raises(ConfigError, match="'reward.min_gold_items': must be at least 1"):
        make_config(tmp_path, tiny_gpt2, ("reward.min_gold_items", 0))


def test_evaluation_holds_out_whole_queries(tmp_path, tiny_gpt2):
    store = small_store(make_config(tmp_path, tiny_gpt2), n=60)
    train, held = split_by_query(choices_from_store(store), 0.2)
    assert held and not {c.query_id for c in train} & {c.query_id for c in held}


def test_training_writes_a_normalised_model_with_metrics_and_refuses_to_overwrite(tmp_path, tiny_llama, cli):
    config = make_config(tmp_path, tiny_llama)
    small_store(config, n=40)
    path = write(tmp_path / "c.yaml", "\n".join(f"{k}: {v}" for k, v in [("name", "rm"), ("output_dir", tmp_path)]) +
                 f"\nmodel: {{name: {tiny_llama}}}\nreward: {{batch_size: 4, gradient_accumulation_steps: 1, normalize_samples: 16}}\n")
    code, _, err = cli("train-reward", "--config", path)
    assert code == 0 and "held-out best-of-4 accuracy" in err
    out = tmp_path / "rm" / "reward_model"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["labels"] > 0 and metrics["chance_accuracy"] == 0.25
    assert metrics["excluded_labels"] == {"by_name": {}, "by_gold_accuracy": {}, "total": 0}
    beaten = held_out_samples_beaten(load_config(str(path), []), out)
    assert metrics["labels"] == len(beaten) > 0
    assert metrics["best_of_n_accuracy"] == pytest.approx(beaten.count(3) / len(beaten))  # chosen above all 3 others
    assert metrics["pairwise_accuracy"] == pytest.approx(sum(beaten) / (3 * len(beaten)))
    assert {"before", "after"} <= set(metrics["normalization"]) and (out / "reward_head.json").is_file()
    assert not (tmp_path / "rm" / "reward_model.checkpoints").exists()
    code, _, err = cli("train-reward", "--config", path)
    assert code == 1 and "already trained; pass --overwrite" in err
    code, out_text, _ = cli("score", "--reward-model", out, "--query", "Story 1 begins.", "--text", " It was warm.", "--text", " It was cruel.")
    rows = [json.loads(line) for line in out_text.splitlines()]
    assert code == 0 and len(rows) == 2 and all(isinstance(r["reward"], float) for r in rows)


def held_out_samples_beaten(config, model_dir) -> list[int]:
    """Per held-out label (recomputed here: the queries the trainer holds out), how many of the other
    samples the saved model gives a lower reward than the chosen one. Saving normalises with a positive
    gain, which keeps the order the trained model gave."""
    from reward.model import load_reward_model
    from reward.normalize import rewards

    store = LabelStore.for_run(config.run_dir)
    _, held_out = split_by_query(choices_from_store(store, config.task.name), config.reward.eval_fraction, config.seed)
    model, tokenizer = load_reward_model(model_dir)
    task = config.task
    beaten = []
    for choice in held_out:
        scores = rewards(model, tokenizer, [(choice.query, s) for s in choice.samples],
                         max_query=task.query_length, max_response=task.response_length).tolist()
        beaten.append(sum(scores[choice.best] > r for i, r in enumerate(scores) if i != choice.best))
    return beaten


def test_no_labels_and_labels_of_another_task_are_clear_errors(tmp_path, tiny_gpt2):
    config = make_config(tmp_path, tiny_gpt2)
    with pytest.raises(RLHFError, match="no usable labels"):
        train_reward(config, LabelStore.for_run(config.run_dir), log=lambda m: None)
    small_store(config, n=8, task="tldr")
    with pytest.raises(RLHFError, match="no labels for task 'sentiment' \\(it has labels for: tldr\\)"):
        train_reward(config, LabelStore.for_run(config.run_dir), log=lambda m: None)


class StopAfter(TrainerCallback):
    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt("simulated crash")


def test_an_interrupted_training_resumes_from_its_checkpoint(tmp_path, tiny_gpt2):
    config = make_config(tmp_path, tiny_gpt2, ("reward.save_steps", 2))
    store = small_store(config, n=40)
    with pytest.raises(KeyboardInterrupt):
        train_reward(config, store, log=lambda m: None, callbacks=[StopAfter(5)])
    assert (config.run_dir / "reward_model.checkpoints" / "checkpoint-4").is_dir()
    assert not (config.run_dir / "reward_model").exists()  # nothing half-written where later stages look
    messages = []
    metrics = train_reward(config, store, log=messages.append)
    assert any("resuming from" in m and "checkpoint-4" in m for m in messages) and metrics["train_labels"] > 0


def test_pairwise_loss_trains_on_the_implied_pairs(tmp_path, tiny_gpt2):
    config = make_config(tmp_path, tiny_gpt2, ("reward.loss", "pairwise"))
    metrics = train_reward(config, small_store(config), log=lambda m: None)
    assert metrics["loss_type"] == "pairwise" and metrics["chance_accuracy"] == 0.5


def polarity_sentences(shared_data):
    with zipfile.ZipFile(shared_data / "sentiment" / "sentence_polarity.zip") as z:
        read = lambda suffix: [l for l in z.read(next(n for n in z.namelist() if n.endswith(suffix))).decode("latin-1").splitlines() if l.strip()]
        return read("rt-polarity.pos"), read("rt-polarity.neg")


@pytest.mark.parametrize("how", [(), (("reward.train_backbone", False), ("reward.pooling", "mean"), ("reward.head_l2", 0.01))],
                         ids=["all-weights", "head-on-frozen-mean"])
def test_a_learnable_preference_on_real_prompts_is_learned_far_above_chance(tmp_path, shared_data, how):
    """Austen excerpts as queries, real review sentences as continuations, VADER as the labeler."""
    from rlhf.config.prompt_source import PromptSource
    from rlhf.labeling.simulated import simulate
    from rlhf.models.tiny import save_tiny_model
    from rlhf.tasks.prompts import load_prompts

    model_dir = save_tiny_model(tmp_path / "tiny", "gpt2", vocab_size=2048)  # sentiment words as single tokens
    config = make_config(tmp_path, model_dir, ("reward.learning_rate", 3e-3), ("reward.epochs", 2.0),
                         ("reward.batch_size", 8), ("reward.normalize_samples", 64),
                         ("task.query_length", 16), ("task.response_length", 48), *how)
    pos, neg = polarity_sentences(shared_data)
    count = lambda texts: [len(t.split()) for t in texts]
    excerpts, _ = load_prompts(PromptSource(path=str(shared_data / "stories" / "austen" / "emma.txt")), ["text"], [], count, 40)
    rows = excerpts["train"].select(range(1200))
    store = LabelStore.for_run(config.run_dir)
    store.add_queries([{"id": r["id"], "task": "sentiment", "prompt": r["text"]} for r in rows])
    rng = random.Random(0)
    for r in rows:
        samples = rng.sample(pos, 2) + rng.sample(neg, 2)
        rng.shuffle(samples)
        store.add_batch(r["id"], [" " + s for s in samples], policy=config.model.name)
    assert simulate(store, "sentiment", task=config.task, temperature=0.05, progress=False) == 1200
    metrics = train_reward(config, store, log=lambda m: None)
    # Measured 44% (chance 25%) on 244 held-out labels, 39% for the head alone (a random tiny model's
    # features are poor; on SmolLM2's the head alone wins: bench/reward_pooling.py); 35% is over 3
    # standard errors above chance.
    assert metrics["labels"] > 150 and metrics["best_of_n_accuracy"] > 0.35 and metrics["pairwise_accuracy"] > 0.6, metrics


def test_lora_with_checkpointing_trains_adapters_and_the_head_and_saves_a_plain_model(tmp_path, tiny_llama):
    from reward.model import load_reward_model

    config = make_config(tmp_path, tiny_llama, ("reward.lora_r", 4), ("reward.gradient_checkpointing", True),
                         ("reward.gradient_accumulation_steps", 2), ("reward.learning_rate", 1e-2))
    seen = {}

    class Spy(TrainerCallback):
        def on_step_end(self, args, state, control, model=None, **kwargs):
            seen["trainable"] = {n for n, p in model.named_parameters() if p.requires_grad}
            seen["checkpointing"] = model.is_gradient_checkpointing

    train_reward(config, small_store(config, n=40), log=lambda m: None, callbacks=[Spy()])
    assert seen["checkpointing"] and seen["trainable"]
    assert all("lora_" in n or n.startswith("score.") for n in seen["trainable"])
    assert any(n.startswith("score.") for n in seen["trainable"])
    model, _ = load_reward_model(config.run_dir / "reward_model")
    assert not any("lora" in k for k in model.state_dict())
    from transformers import AutoModel

    original = AutoModel.from_pretrained(tiny_llama).state_dict()
    trunk = model.model.state_dict()
    assert any(not torch.equal(trunk[k], original[k]) for k in original if "proj" in k)  # adapters merged in
    assert all(torch.equal(trunk[k], original[k]) for k in original if "norm" in k)  # the rest left frozen


def test_a_head_fitted_on_a_frozen_cut_backbone_leaves_the_trunk_as_it_was(tmp_path, tiny_llama):
    from transformers import AutoModel

    from reward.model import load_reward_model
    from reward.normalize import rewards

    config = make_config(tmp_path, tiny_llama, ("reward.train_backbone", False), ("reward.pooling", "mean"),
                         ("reward.backbone_layers", 1))
    messages = []
    metrics = train_reward(config, small_store(config, n=40), log=messages.append)
    assert any("fitted on" in m for m in messages) and metrics["train_labels"] > 0
    assert not (config.run_dir / "reward_model.checkpoints").exists()
    model, tokenizer = load_reward_model(config.run_dir / "reward_model")
    assert model.score.pooling == "mean" and model.config.num_hidden_layers == 1
    original = AutoModel.from_pretrained(tiny_llama).state_dict()
    trunk = model.model.state_dict()
    assert set(trunk) < set(original) and all(torch.equal(trunk[k], original[k]) for k in trunk)
    normalised = rewards(model, tokenizer, [(f"Story {i} begins.", f" It was {w}.") for i, w in enumerate(WORDS)])
    assert normalised.std() > 0


@pytest.mark.parametrize("setting, bf16_share, chosen", [(None, 0.5, True), (None, 0.99, False), (False, 0.5, False)])
def test_the_frozen_backbones_features_take_the_precision_auto_measures_or_the_one_set(tmp_path, tiny_llama, monkeypatch,
                                                                                      setting, bf16_share, chosen):
    import reward.train
    from rlhf.models import precision

    monkeypatch.setattr(precision, "bf16_hardware", lambda device: True)
    # The step runs (a forward pass of the reward model must work); its time is made up.
    monkeypatch.setattr(precision, "step_seconds", lambda step, device, bf16: step() or (bf16_share if bf16 else 1.0))
    precisions = []
    real = reward.train.label_features
    monkeypatch.setattr(reward.train, "label_features",
                        lambda *a, bf16=False, **k: precisions.append(bf16) or real(*a, bf16=bf16, **k))
    config = make_config(tmp_path, tiny_llama, ("reward.train_backbone", False), ("reward.pooling", "mean"),
                         ("reward.bf16", setting))
    messages = []
    train_reward(config, small_store(config, n=12), log=messages.append)
    assert precisions == [chosen, chosen]  # the training labels' features, then the held-out ones'
    measured = [m for m in messages if m.startswith("reward: ")]
    assert len(measured) == (setting is None) and all("auto: a step took" in m for m in measured)


def test_more_backbone_layers_than_the_model_has_is_refused(tmp_path, tiny_llama):
    config = make_config(tmp_path, tiny_llama, ("reward.backbone_layers", 99))
    with pytest.raises(RLHFError, match="backbone_layers is 99, but .* has only 2 layers"):
        train_reward(config, small_store(config, n=8), log=lambda m: None)
    assert not (config.run_dir / "reward_model").exists()


@pytest.mark.parametrize("grouped, strategy", [(False, "random"), (True, "group_by_length")])
def test_group_by_length_picks_the_trainers_length_grouped_sampling(tmp_path, grouped, strategy):
    from reward.train import training_arguments

    config = load_config(None, [("output_dir", str(tmp_path)), ("reward.group_by_length", grouped)])
    assert training_arguments(config, tmp_path / "checkpoints").train_sampling_strategy == strategy
