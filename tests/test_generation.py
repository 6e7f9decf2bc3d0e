import pytest

from rlhf.config.sections import ModelConfig
from rlhf.generation import SamplingSettings, generate
from rlhf.models.loading import load_causal_lm
from rlhf.tasks.queries import Query, encode


@pytest.fixture(scope="module", params=["tiny_gpt2", "tiny_llama"])
def model_and_tokenizer(request):
    return load_causal_lm(ModelConfig(name=str(request.getfixturevalue(request.param))))


def queries(tokenizer, texts):
    return [Query(id=f"q{i}", text=t, input_ids=encode(tokenizer, t)) for i, t in enumerate(texts)]


def test_samples_per_query_in_order_without_pad_tokens(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    qs = queries(tokenizer, ["The boat left at dawn.", "A long letter arrived for the family that morning.", "Rain."])
    settings = SamplingSettings(max_new_tokens=12, num_samples=4, batch_size=2, temperature=1.0)
    results = generate(model, tokenizer, qs, settings, progress=False)
    assert [len(r) for r in results] == [4, 4, 4]
    assert [[s.query_id for s in r] for r in results] == [["q0"] * 4, ["q1"] * 4, ["q2"] * 4]
    assert all(s.index == i for r in results for i, s in enumerate(r))
    assert all(tokenizer.pad_token_id not in s.token_ids and 0 < len(s.token_ids) <= 12 for r in results for s in r)


def test_the_seed_decides_the_samples(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    qs = queries(tokenizer, ["The market opened early."] * 2)
    run = lambda seed: [[s.token_ids for s in r] for r in generate(model, tokenizer, qs, SamplingSettings(
        max_new_tokens=10, num_samples=2, seed=seed, temperature=1.0), progress=False)]
    assert run(1) == run(1) and run(1) != run(2)


def test_truncation_rule_is_applied_to_every_sample(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    qs = queries(tokenizer, ["She opened the door. Outside"] * 4)
    settings = SamplingSettings(max_new_tokens=20, num_samples=4, temperature=1.5, truncate_token=" ", truncate_after=2)
    for sample in (s for r in generate(model, tokenizer, qs, settings, progress=False) for s in r):
        assert sample.truncated == any(" " in tokenizer.decode([t]) for t in sample.token_ids[2:])
        if sample.truncated:
            assert " " in tokenizer.decode([sample.token_ids[-1]])  # nothing kept after the stop token


def test_a_checkpoint_generation_config_does_not_change_the_samples(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    qs = queries(tokenizer, ["The garden gate creaked open and"])
    settings = SamplingSettings(max_new_tokens=16, num_samples=2, temperature=1.0, top_k=0)
    plain = [s.token_ids for r in generate(model, tokenizer, qs, settings, progress=False) for s in r]
    shipped = model.generation_config
    shipped.repetition_penalty, shipped.no_repeat_ngram_size, shipped.top_k = 5.0, 1, 3
    try:
        again = [s.token_ids for r in generate(model, tokenizer, qs, settings, progress=False) for s in r]
    finally:
        shipped.repetition_penalty, shipped.no_repeat_ngram_size, shipped.top_k = 1.0, 0, 50
    assert again == plain and model.generation_config is shipped


def test_a_summary_loses_its_leading_blank_lines_but_keeps_its_tokens(model_and_tokenizer, monkeypatch):
    import torch

    import rlhf.generation as generation

    model, tokenizer = model_and_tokenizer
    newline = encode(tokenizer, "\n")
    words = encode(tokenizer, "The council met")
    sampled = newline + newline + words + newline + encode(tokenizer, "More")
    monkeypatch.setattr(generation, "_sample_batch", lambda *a, **k: torch.tensor([sampled]))
    cut = dict(max_new_tokens=len(sampled), num_samples=1, batch_size=1, truncate_after=len(newline) * 2 + 1)
    [[summary]] = generate(model, tokenizer, queries(tokenizer, ["Doc."]), SamplingSettings(**cut, truncate_token="\n"),
                           progress=False)
    assert summary.text == "The council met\n"
    assert summary.token_ids[:2 * len(newline)] == newline + newline and summary.truncated
    [[story]] = generate(model, tokenizer, queries(tokenizer, ["Doc."]), SamplingSettings(**cut, truncate_token="."),
                         progress=False)
    assert story.text.startswith("\n\n")  # a continuation's new paragraph is the model's text


def test_several_samples_read_each_query_once_and_draw_what_every_copy_draws(model_and_tokenizer):
    import torch

    from rlhf.generation import _generate, _generation_config, _pad_to, query_cache, sample_tokens

    model, tokenizer = model_and_tokenizer
    encoded = tokenizer.pad({"input_ids": [encode(tokenizer, t) for t in ["The boat left at dawn and", "Rain fell."]]},
                            padding=True, return_tensors="pt")
    ids, mask = encoded["input_ids"], encoded["attention_mask"]
    settings = SamplingSettings(max_new_tokens=10, num_samples=4, temperature=1.0)
    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    reads = []
    hook = model.register_forward_pre_hook(lambda _, args, kwargs: reads.append(kwargs["input_ids"].shape), with_kwargs=True)
    try:
        torch.manual_seed(3)
        once = sample_tokens(model, ids, mask, settings, pad, eos)
    finally:
        hook.remove()
    torch.manual_seed(3)  # without the cache generate() reads every copy of each query
    copies = ids.repeat_interleave(4, 0), mask.repeat_interleave(4, 0)
    every_copy = _pad_to(_generate(model, *copies, _generation_config(settings, pad, eos), settings)[:, ids.shape[1]:], 10, pad)
    assert torch.equal(once, every_copy)
    assert reads[0] == (2, ids.shape[1] - 1) and all(rows == 8 and cols <= 1 for rows, cols in reads[1:])
    assert query_cache(model, ids[:, :1], mask[:, :1], 4) is None  # a one-token query has nothing to cache


def test_sampling_keeps_the_logits_and_hidden_states_a_full_pass_computes(model_and_tokenizer):
    import torch

    from rlhf.generation import sample_with_states

    model, tokenizer = model_and_tokenizer
    pad = tokenizer.pad_token_id
    encoded = tokenizer.pad({"input_ids": [encode(tokenizer, t) for t in ["A short one", "A much longer opening line, then"]]},
                            padding=True, return_tensors="pt")
    ids, mask = encoded["input_ids"], encoded["attention_mask"]
    torch.manual_seed(0)
    sampled = sample_with_states(model, ids, mask, SamplingSettings(max_new_tokens=8, temperature=1.0), pad,
                                 tokenizer.eos_token_id)
    full = torch.cat([ids, sampled.responses], 1)
    full_mask = torch.cat([mask, (sampled.responses != pad).long()], 1)
    with torch.no_grad():
        out = model(input_ids=full, attention_mask=full_mask, position_ids=(full_mask.cumsum(1) - 1).clamp(min=0),
                    output_hidden_states=True)
    kept = sampled.responses != pad  # what a rollout keeps (pad after EOS is masked out)
    before = slice(ids.shape[1] - 1, -1)  # the position that predicts each response token
    assert torch.allclose(sampled.logits[kept], out.logits[:, before][kept], atol=1e-4)
    assert torch.allclose(sampled.hidden[kept], out.hidden_states[-1][:, before][kept], atol=1e-4)
    assert sampled.logits.shape[:2] == sampled.hidden.shape[:2] == sampled.responses.shape == (2, 8)


def test_sampling_runs_in_the_precision_chosen_for_the_model(model_and_tokenizer, monkeypatch):
    import torch

    from rlhf.generation import with_precision
    from rlhf.models import precision

    model, tokenizer = model_and_tokenizer
    lines = []
    settings = SamplingSettings(max_new_tokens=4, num_samples=2, batch_size=2)
    assert with_precision(settings, True, "generation", model, 8, log=lines.append).bf16 is True
    monkeypatch.setattr(precision, "bf16_hardware", lambda device: True)
    monkeypatch.setattr(precision, "step_seconds", lambda step, device, bf16: 0.4 if bf16 else 1.0)
    chosen = with_precision(settings, None, "evaluation", model, 8, log=lines.append)
    assert chosen.bf16 is True and lines[-1].startswith("evaluation: bf16 (auto:")
    dtypes = []
    hook = model.get_output_embeddings().register_forward_hook(lambda m, args, out: dtypes.append(out.dtype))
    try:
        generate(model, tokenizer, queries(tokenizer, ["The boat left at dawn."]), chosen, progress=False)
        generate(model, tokenizer, queries(tokenizer, ["The boat left at dawn."]), settings, progress=False)
    finally:
        hook.remove()
    assert torch.bfloat16 in dtypes and dtypes[-1] == torch.float32
