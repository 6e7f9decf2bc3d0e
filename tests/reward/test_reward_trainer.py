import pytest
import torch

from reward.data import collate, full_sequences
from reward.model import build_reward_model, sequence_rewards
from reward.trainer import batch_rewards
from rlhf.models.tokenizer import add_pad_token, load_tokenizer

LABELS = [
    {"sequences": [[5, 6, 7, 8, 9], [5, 6, 7, 10], [5, 6, 11, 12, 13, 14], [5, 6, 7, 8, 9, 15]], "best": 1, "query_length": 2},
    {"sequences": [[20, 21, 22], [20, 21, 23, 24], [20, 25], [20, 21, 22, 26]], "best": 0, "query_length": 1},
]


def reward_model(model_dir, pooling="last"):
    tokenizer = load_tokenizer(str(model_dir), "right")
    add_pad_token(tokenizer)
    return build_reward_model(str(model_dir), tokenizer, pooling=pooling), tokenizer


def each_alone(model, labels):
    """The oracle: every sequence on its own, no padding, no sharing."""
    def alone(s, query_length):
        response = torch.tensor([[i >= query_length for i in range(len(s))]])
        return sequence_rewards(model, torch.tensor([s]), torch.ones(1, len(s), dtype=torch.long), response)[0]

    rows = [alone(s, label["query_length"]) for label in labels for s in label["sequences"]]
    return torch.stack(rows).view(len(labels), -1)


def test_collate_splits_off_the_shared_prefix():
    batch = collate(LABELS, pad_id=0)
    assert batch["prefix_ids"].tolist() == [[5, 6], [0, 20]]  # left-padded; '5 6 7' is not shared by all four
    assert batch["suffix_ids"][1].tolist() == [[21, 22, 0, 0], [21, 23, 24, 0], [25, 0, 0, 0], [21, 22, 26, 0]]
    ids, mask, response = full_sequences(batch)
    assert [row[m.bool()].tolist() for row, m in zip(ids, mask)] == [s for label in LABELS for s in label["sequences"]]
    assert [row[m.bool()].tolist() for row, m in zip(ids, response)][4:] == [[21, 22], [21, 23, 24], [25], [21, 22, 26]]


def test_the_shared_prefix_stops_at_the_query():
    """Four samples that begin alike still split after the query: mean pooling must see their first tokens."""
    label = {"sequences": [[1, 2, 3, 4], [1, 2, 3, 5], [1, 2, 3, 6, 7], [1, 2, 3, 8]], "best": 0, "query_length": 2}
    batch = collate([label], pad_id=0)
    assert batch["prefix_ids"].tolist() == [[1, 2]]
    assert batch["response_mask"][0].tolist() == [[1, 1, 0], [1, 1, 0], [1, 1, 1], [1, 1, 0]]


@pytest.mark.parametrize("shape, pooling", [("gpt2", "last"), ("llama", "last"), ("llama", "mean")])
def test_sharing_the_query_gives_the_same_rewards_and_gradients(request, shape, pooling):
    model, tokenizer = reward_model(request.getfixturevalue(f"tiny_{shape}"), pooling)
    shared = batch_rewards(model, collate(LABELS, tokenizer.pad_token_id))
    alone = each_alone(model, LABELS)
    assert torch.allclose(shared, alone, atol=1e-5)
    shared.sum().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    alone.sum().backward()
    assert all(torch.allclose(grads[n], p.grad, atol=1e-4) for n, p in model.named_parameters())


@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_a_label_without_a_shared_prefix_falls_back_to_full_sequences(tiny_gpt2, pooling):
    model, tokenizer = reward_model(tiny_gpt2, pooling)
    labels = [{"sequences": [[5, 6], [7, 8], [9], [10, 11]], "best": 0, "query_length": 0}, LABELS[1]]
    batch = collate(labels, tokenizer.pad_token_id)
    assert batch["prefix_mask"][0].sum() == 0
    with torch.no_grad():
        assert torch.allclose(batch_rewards(model, batch), each_alone(model, labels), atol=1e-5)


def test_group_by_length_batches_labels_of_about_one_length(tmp_path, tiny_gpt2):
    from transformers import TrainingArguments

    from reward.data import label_length
    from reward.trainer import BestOfNTrainer, ChoiceDataset

    model, _ = reward_model(tiny_gpt2)
    lengths = [int(n) for n in torch.randint(3, 60, (256,), generator=torch.Generator().manual_seed(0))]
    labels = [{"sequences": [[5] * n] * 4, "best": 0, "query_length": 1} for n in lengths]

    def batches(strategy):
        args = TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=4, gradient_accumulation_steps=2,
                                 train_sampling_strategy=strategy, use_cpu=True, report_to="none")
        order = list(BestOfNTrainer(model=model, args=args, train_dataset=ChoiceDataset(labels))._get_train_sampler())
        assert sorted(order) == list(range(256))  # every label once
        return [[label_length(labels[i]) for i in order[s : s + 8]] for s in range(0, 256, 8)]

    def padding(groups):
        return sum(max(g) * len(g) - sum(g) for g in groups)

    torch.manual_seed(0)
    grouped, random = padding(batches("group_by_length")), padding(batches("random"))
    assert grouped < random / 3, (grouped, random)
