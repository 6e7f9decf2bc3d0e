import pytest
import torch

from rlhf.models.tiny import tiny_model, tiny_tokenizer


def test_tokenizer_round_trips_text_and_has_single_period_and_newline_tokens():
    tokenizer = tiny_tokenizer()
    text = "The harbour was quiet.\nA gull cried - once, twice!"
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text
    assert len(tokenizer(".")["input_ids"]) == 1 and len(tokenizer("\n")["input_ids"]) == 1
    assert tokenizer.pad_token_id != tokenizer.eos_token_id


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_tiny_models_are_small_deterministic_and_run(kind):
    model, tokenizer = tiny_model(kind)
    again, _ = tiny_model(kind)
    assert sum(p.numel() for p in model.parameters()) < 500_000
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    logits = model(**tokenizer(["hello world"], return_tensors="pt")).logits
    assert logits.shape[-1] == len(tokenizer)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        tiny_model("bert")
