import pytest

from rlhf.config import load_config
from rlhf.labeling.batches import pick_queries, sample_for_labeling
from rlhf.labeling.store import LabelStore
from rlhf.models.loading import load_causal_lm


@pytest.fixture
def setup(tmp_path, tiny_llama):
    config = load_config(None, [("model.name", str(tiny_llama)), ("output_dir", str(tmp_path)), ("name", "r"),
                                ("task.query_length", 200), ("prompts.kind", "demo"), ("prompts.path", "stories"),
                                ("generation.batch_size", 4)])
    model, tokenizer = load_causal_lm(config.model)
    from rlhf.tasks.queries import queries_for

    return config, LabelStore.for_run(config.run_dir), model, tokenizer, queries_for(config, tokenizer, "train")


def test_batches_of_four_are_stored_with_their_provenance(setup):
    config, store, model, tokenizer, queries = setup
    assert sample_for_labeling(config, store, model, tokenizer, queries, 6, log=lambda m: None) == 6
    batch = store.batch(1)
    assert len(batch.samples) == 4 and len(batch.sample_token_ids) == 4
    assert batch.policy == config.model.name and batch.round == 0
    assert batch.settings["temperature"] == 0.7 and batch.settings["truncate_after"] == 16 and len(batch.settings["has_stop"]) == 4
    query = store.query(batch.query_id)
    assert query.split == "train" and query.task == "sentiment" and query.token_ids


def test_a_second_call_samples_new_queries_and_a_new_round_may_reuse_them(setup):
    config, store, model, tokenizer, queries = setup
    sample_for_labeling(config, store, model, tokenizer, queries, 3, log=lambda m: None)
    first = store.sampled_query_ids(config.model.name, 0)
    sample_for_labeling(config, store, model, tokenizer, queries, 3, log=lambda m: None)
    assert len(store.sampled_query_ids(config.model.name, 0)) == 6 and store.count_batches() == 6
    config.labeling.round = 1
    sample_for_labeling(config, store, model, tokenizer, queries, 3, log=lambda m: None)
    assert store.sampled_query_ids(config.model.name, 1) == first  # the same seeded order, a new round


def test_pick_queries_is_seeded_and_skips_done(setup):
    *_, queries = setup
    a = pick_queries(queries, set(), 5, seed=1)
    assert [q.id for q in a] == [q.id for q in pick_queries(queries, set(), 5, seed=1)]
    assert [q.id for q in pick_queries(queries, {a[0].id}, 4, seed=1)] == [q.id for q in a[1:]]
