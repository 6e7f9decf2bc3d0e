import math

import pytest
import torch

from reward.model import HEAD_FILE, NormalizedScore, build_reward_model, last_token_index, load_reward_model, save_reward_model, sequence_rewards
from reward.normalize import normalize, raw_rewards, rewards
from rlhf.errors import RLHFError
from rlhf.models.tokenizer import load_tokenizer


@pytest.fixture(params=["tiny_gpt2", "tiny_llama"])
def reward_model(request):
    location = str(request.getfixturevalue(request.param))
    tokenizer = load_tokenizer(location, padding_side="right")
    return build_reward_model(location, tokenizer, seed=0), tokenizer


def test_head_is_initialised_with_the_papers_scale(reward_model):
    model, _ = reward_model
    weight = model.score.linear.weight
    d = weight.shape[1]
    assert weight.std().item() == pytest.approx(1 / math.sqrt(d + 1), rel=0.3)
    assert float(model.score.gain) == 1.0 and float(model.score.bias) == 0.0
    assert all(m.p == 0 for m in model.modules() if isinstance(m, torch.nn.Dropout))


def test_reward_is_read_at_the_last_real_token_on_either_padding_side(reward_model):
    model, tokenizer = reward_model
    ids = tokenizer("The lamp glowed warmly.", add_special_tokens=False)["input_ids"]
    pad = tokenizer.pad_token_id
    alone = sequence_rewards(model, torch.tensor([ids]), torch.ones(1, len(ids), dtype=torch.long))
    right = sequence_rewards(model, torch.tensor([ids + [pad] * 3]), torch.tensor([[1] * len(ids) + [0] * 3]))
    left = sequence_rewards(model, torch.tensor([[pad] * 3 + ids]), torch.tensor([[0] * 3 + [1] * len(ids)]))
    assert torch.allclose(alone, right, atol=1e-5) and torch.allclose(alone, left, atol=1e-5)
    assert last_token_index(torch.tensor([[0, 1, 1, 0], [1, 1, 1, 1]])).tolist() == [2, 3]


def test_trl_reads_the_same_normalised_reward(reward_model):
    from trl.experimental.utils import get_reward

    model, tokenizer = reward_model
    model.score.set_normalization(2.0, -0.5)
    pad = tokenizer.pad_token_id
    query = tokenizer("Once upon a time", add_special_tokens=False)["input_ids"]
    response = tokenizer(" there was a cat.", add_special_tokens=False)["input_ids"]
    context = [pad] * 2 + query  # TRL's layout: left-padded query, then the response, then padding
    sequence = torch.tensor([context + response + [pad] * 2])
    _, trl_reward, _ = get_reward(model, sequence, pad, len(context))
    ours = sequence_rewards(model, sequence, (sequence != pad).long())
    assert torch.allclose(trl_reward, ours, atol=1e-5)


def test_normalisation_gives_mean_0_std_1_on_its_samples(reward_model):
    model, tokenizer = reward_model
    pairs = [(f"Query {i}.", f" response number {i} is {'good' if i % 2 else 'bad'}.") for i in range(24)]
    normalize(model, tokenizer, pairs, batch_size=5)
    rewards = raw_rewards(model, tokenizer, pairs) * model.score.gain + model.score.bias
    assert rewards.mean().item() == pytest.approx(0.0, abs=1e-4) and rewards.std().item() == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_samples_of_one_query_read_it_once_and_score_as_when_alone(reward_model, pooling):
    model, tokenizer = reward_model
    model.score.pooling = pooling
    pairs = [(f"Opening number {q} of the story", f" and then {q}-{i} {'happened' * (i + 1)}.")
             for q in range(5) for i in range(3)] + [("A lone query", " with one response.")]
    alone = torch.cat([rewards(model, tokenizer, [pair]) for pair in pairs])
    rows = []
    hook = model.base_model.register_forward_hook(lambda module, args, kwargs, out: rows.append(kwargs["input_ids"].shape[0]),
                                                  with_kwargs=True)
    try:
        grouped = rewards(model, tokenizer, pairs, batch_size=7)
    finally:
        hook.remove()
    assert torch.allclose(grouped, alone, atol=1e-5)
    # 7 sequences a batch in whole groups of 3: [2 queries, their 6 responses] x 2, then the last
    # query of 3 alone, then the lone query (1 response): each query passed once.
    assert rows == [2, 6, 2, 6, 1, 3, 1, 1]


def test_save_and_load_give_identical_rewards(reward_model, tmp_path):
    model, tokenizer = reward_model
    model.score.set_normalization(1.7, 0.3)
    save_reward_model(model, tokenizer, tmp_path / "rm")
    loaded, loaded_tokenizer = load_reward_model(tmp_path / "rm")
    batch = tokenizer(["A bright morning.", "Rain fell all day long."], padding=True, return_tensors="pt")
    model.eval()
    with torch.no_grad():
        before = sequence_rewards(model, batch["input_ids"], batch["attention_mask"])
        after = sequence_rewards(loaded, batch["input_ids"], batch["attention_mask"])
    assert torch.allclose(before, after, atol=1e-6)
    assert loaded_tokenizer.pad_token_id == tokenizer.pad_token_id


def test_mean_pooling_averages_the_response_only_and_survives_a_save(reward_model, tmp_path):
    model, tokenizer = reward_model
    model.score.pooling = "mean"
    ids = torch.tensor([[11, 12, 13, 14, 15]])
    mask, response = torch.ones_like(ids), torch.tensor([[0, 0, 1, 1, 1]])
    with torch.no_grad():
        hidden = model.base_model(input_ids=ids).last_hidden_state[0, 2:].mean(0)
        pooled = sequence_rewards(model, ids, mask, response)
        assert pooled.item() == pytest.approx(model.score(hidden).item(), abs=1e-5)
        with pytest.raises(RLHFError, match="which tokens are the response"):
            sequence_rewards(model, ids, mask)
    save_reward_model(model, tokenizer, tmp_path / "rm")
    loaded, _ = load_reward_model(tmp_path / "rm")
    assert loaded.score.pooling == "mean"
    with torch.no_grad():
        assert sequence_rewards(loaded, ids, mask, response).item() == pytest.approx(pooled.item(), abs=1e-5)


def test_an_unknown_pooling_is_refused():
    with pytest.raises(RLHFError, match="unknown reward pooling 'max'"):
        NormalizedScore(torch.nn.Linear(4, 1), pooling="max")


def test_a_directory_without_normalisation_is_refused(reward_model, tmp_path):
    model, tokenizer = reward_model
    save_reward_model(model, tokenizer, tmp_path / "rm")
    (tmp_path / "rm" / HEAD_FILE).unlink()
    with pytest.raises(RLHFError, match="not normalised"):
        load_reward_model(tmp_path / "rm")
    with pytest.raises(RLHFError, match="no config.json"):
        load_reward_model(tmp_path / "empty")
