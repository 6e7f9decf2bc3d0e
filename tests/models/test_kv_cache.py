"""rlhf/models/kv_cache.py: the KV cache read and passed under whichever name transformers uses."""

from rlhf.models.kv_cache import cache_keyword, returned_cache


def test_the_cache_is_read_under_either_name():
    assert returned_cache({"cache": "new"}) == "new"
    assert returned_cache({"past_key_values": "old"}) == "old"
    assert returned_cache({"cache": "new", "past_key_values": "old"}) == "new"


def test_a_forward_gets_the_cache_under_the_name_it_takes(tiny_gpt2):
    from rlhf.config.sections import ModelConfig
    from rlhf.models.loading import load_causal_lm

    class Old:
        def forward(self, input_ids, past_key_values=None, use_cache=False): ...

    model, _ = load_causal_lm(ModelConfig(name=str(tiny_gpt2)), log=lambda *_: None)
    assert cache_keyword(Old()) == "past_key_values"
    assert cache_keyword(model.base_model) == "cache"  # transformers 5's name
