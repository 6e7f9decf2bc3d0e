import pytest
import torch

from reward.data import collate, full_sequences
from reward.model import build_reward_model, sequence_rewards
from reward.trainer import batch_rewards
from rlhf.models import add_pad_token, load_tokenizer

LABELS = [
    {"sequences": [[5, 6, 7, 8, 9], [5, 6, 7, 10], [5, 6, 11, 12, 13, 14], [5, 6, 7, 8, 9, 15]], "best": 1},
    {"sequences": [[20, 21, 22], [20, 21, 23, 24], [20, 25], [20, 21, 22, 26]], "best": 0},
]


def reward_model(model_dir):
    tokenizer = load_tokenizer(str(model_dir), "right")
    add_pad_token(tokenizer)
    return build_reward_model(str(model_dir), tokenizer), tokenizer


def each_alone(model, labels):
    """The oracle: every sequence on its own, no padding, no sharing."""
    rows = [sequence_rewards(model, torch.tensor([s]), torch.ones(1, len(s), dtype=torch.long))[0]
            for label in labels for s in label["sequences"]]
    return torch.stack(rows).view(len(labels), -1)


def test_collate_splits_off_the_shared_prefix():
    batch = collate(LABELS, pad_id=0)
    assert batch["prefix_ids"].tolist() == [[5, 6], [0, 20]]  # left-padded; '5 6 7' is not shared by all four
    assert batch["suffix_ids"][1].tolist() == [[21, 22, 0, 0], [21, 23, 24, 0], [25, 0, 0, 0], [21, 22, 26, 0]]
    ids, mask = full_sequences(batch)
    assert [row[m.bool()].tolist() for row, m in zip(ids, mask)] == [s for label in LABELS for s in label["sequences"]]


@pytest.mark.parametrize("shape", ["gpt2", "llama"])
def test_sharing_the_query_gives_the_same_rewards_and_gradients(request, shape):
    model, tokenizer = reward_model(request.getfixturevalue(f"tiny_{shape}"))
    shared = batch_rewards(model, collate(LABELS, tokenizer.pad_token_id))
    alone = each_alone(model, LABELS)
    assert torch.allclose(shared, alone, atol=1e-5)
    shared.sum().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    alone.sum().backward()
    assert all(torch.allclose(grads[n], p.grad, atol=1e-4) for n, p in model.named_parameters())


def test_a_label_without_a_shared_prefix_falls_back_to_full_sequences(tiny_gpt2):
    model, tokenizer = reward_model(tiny_gpt2)
    labels = [{"sequences": [[5, 6], [7, 8], [9], [10, 11]], "best": 0}, LABELS[1]]
    batch = collate(labels, tokenizer.pad_token_id)
    assert batch["prefix_mask"][0].sum() == 0
    with torch.no_grad():
        assert torch.allclose(batch_rewards(model, batch), each_alone(model, labels), atol=1e-5)
