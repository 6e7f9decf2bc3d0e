"""`rlhf gold add|simulate|remove|list` and what `rlhf train-reward` says about labels left out."""

import pytest
from conftest import write

from labeling_app.synthetic import fill_store
from rlhf.labeling.store import LabelStore, sqlite_url

HAPPY = [" It was a dull grey day.", " I love this wonderful, happy morning!", " It was awful and sad.", " The table."]


@pytest.fixture
def run(tmp_path):
    """A run config and its store: 8 batches, the happy sample stored second; ann and bob have labeled."""
    config = write(tmp_path / "c.yaml", f"name: lab\noutput_dir: {tmp_path / 'runs'}\nlabeling: {{gold_min_items: 2}}\n")
    (tmp_path / "runs" / "lab").mkdir(parents=True)
    store = LabelStore(sqlite_url(tmp_path / "runs" / "lab" / "labels.db"))
    fill_store(store, [(f"Prompt {i}.", HAPPY) for i in range(8)])
    return config, store


def test_add_marks_batches_from_a_file_checked_whole(cli, run, tmp_path):
    config, store = run
    code, _, err = cli("gold", "add", "--config", config, write(tmp_path / "g.jsonl", '{"batch_id": 1, "best": 1}\n{"batch_id": 2, "best": 0}\n'))
    assert code == 0 and "2 batches marked gold from" in err and store.gold_answers() == {1: 1, 2: 0}
    assert [g.source for g in store.gold_batches()] == ["file:g.jsonl"] * 2
    code, _, err = cli("gold", "add", "--config", config, write(tmp_path / "h.jsonl", '{"batch_id": 3, "best": 1}\n{"batch_id": 2, "best": 2}\n'))
    assert code == 1 and "batch 2 is already gold with best 0" in err and "--replace" in err and 3 not in store.gold_answers()
    code, _, err = cli("gold", "add", "--config", config, tmp_path / "h.jsonl", "--replace")
    assert code == 0 and store.gold_answers() == {1: 1, 2: 2, 3: 1}
    code, _, err = cli("gold", "add", "--config", config, write(tmp_path / "bad.jsonl", '{"batch_id": 4}\n'))
    assert code == 4 and "bad.jsonl, line 1" in err and "nothing was marked gold" in err
    code, _, err = cli("gold", "add", "--config", config, write(tmp_path / "far.jsonl", '{"batch_id": 99, "best": 0}\n'))
    assert code == 1 and "unknown batch id 99" in err


def test_simulate_marks_unseen_batches_with_the_temperature_zero_choice_then_list_and_remove(cli, run):
    config, store = run
    ann, bob = store.add_labeler("ann", "password1"), store.add_labeler("bob", "password1")
    for batch in (1, 2, 3):
        store.submit(ann.id, batch, choice=1)
        store.submit(bob.id, batch, choice=3)
    code, _, err = cli("gold", "simulate", "--config", config, "--kind", "sentiment", "--n", "3")
    assert code == 0 and "3 batches marked gold with sim:sentiment's choice at temperature 0" in err
    gold = store.gold_answers()
    assert len(gold) == 3 and set(gold.values()) == {1} and not set(gold) & {1, 2, 3}  # only batches nobody was handed
    code, _, err = cli("gold", "simulate", "--config", config, "--kind", "sentiment", "--n", "5")
    assert code == 0 and "2 batches marked gold" in err and "only 2 of the 5 asked for" in err
    code, _, err = cli("gold", "add", "--config", config, write(config.parent / "g.jsonl", '{"batch_id": 1, "best": 1}\n{"batch_id": 2, "best": 1}\n'))
    code, out, _ = cli("gold", "list", "--config", config)
    assert code == 0 and out.startswith("7 gold batches; served at labeling.gold_rate 0")
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "gold 2/2 100% [34%, 100%]" in lines["ann"] and "BELOW" not in lines["ann"]
    assert "gold 0/2 0% [0%, 66%]" in lines["bob"] and lines["bob"].endswith("BELOW THRESHOLD")
    code, _, err = cli("gold", "remove", "--config", config, "1", "2", "99")
    assert code == 0 and "2 batches are ordinary again (1 were not gold)" in err and len(store.gold_answers()) == 5


def test_gold_commands_need_a_store(cli, tmp_path):
    config = write(tmp_path / "c.yaml", f"name: none\noutput_dir: {tmp_path / 'runs'}\n")
    code, _, err = cli("gold", "list", "--config", config)
    assert code == 1 and "has no label store yet" in err and not (tmp_path / "runs" / "none" / "labels.db").exists()


def test_train_reward_says_how_many_labels_were_left_out(cli, run, monkeypatch):
    import reward.train

    config, _ = run
    metrics = {"chance_accuracy": 0.25, "best_of_n_accuracy": 0.5, "pairwise_accuracy": 0.7, "labels": 10,
               "excluded_labels": {"by_name": {"bob": 2}, "by_gold_accuracy": {"cy": 5}, "total": 7}}
    monkeypatch.setattr(reward.train, "train_reward", lambda config, store, log, overwrite: metrics)
    code, _, err = cli("train-reward", "--config", config)
    assert code == 0 and "7 labels were left out (reward.exclude_labelers, reward.min_gold_accuracy)" in err
