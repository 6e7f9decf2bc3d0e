import pytest
import torch

from reward.head_fit import fit_head


def choices_along(direction: torch.Tensor, labels: int, n: int = 4, seed: int = 0):
    """Features whose chosen sample is the one furthest along `direction`, with scales that differ by dimension."""
    generator = torch.Generator().manual_seed(seed)
    scale = torch.logspace(-2, 2, direction.shape[0])  # one dimension 10,000x another, as LLM activations are
    features = torch.randn(labels, n, direction.shape[0], generator=generator) * scale + 3.0
    best = (features @ direction).argmax(1)
    return features, best


def test_the_fitted_head_ranks_held_out_choices_by_the_hidden_direction():
    direction = torch.zeros(16)
    direction[[0, 5, 12]] = torch.tensor([40.0, -1.0, 0.02])  # weights that offset the scales: every dimension counts
    features, best = choices_along(direction, 300)
    head = torch.nn.Linear(16, 1, bias=False)
    loss = fit_head(head, features[:200], best[:200], l2=1e-3)
    held = head(features[200:]).squeeze(-1)
    assert loss < 0.5 and (held.argmax(1) == best[200:]).float().mean() > 0.85


def test_the_penalty_shrinks_the_weights_and_the_bias_absorbs_the_mean():
    direction = torch.zeros(8)
    direction[2] = 1.0
    features, best = choices_along(direction, 100)
    loose, tight = torch.nn.Linear(8, 1), torch.nn.Linear(8, 1)
    fit_head(loose, features, best, l2=1e-3)
    fit_head(tight, features, best, l2=10.0)
    assert tight.weight.norm() < loose.weight.norm() / 5
    centred = loose(features.mean((0, 1), keepdim=True)).item()  # standardised features: the mean scores 0
    assert centred == pytest.approx(0.0, abs=1e-3)


def mean_pooled_model(model_dir):
    """A mean-pooled reward model on `model_dir` and the collate function for its labels."""
    from functools import partial

    from reward.data import collate
    from reward.model import build_reward_model
    from rlhf.models.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(str(model_dir), padding_side="right")
    return build_reward_model(str(model_dir), tokenizer, pooling="mean"), partial(collate, pad_id=tokenizer.pad_token_id)


def test_label_features_come_back_in_the_order_given_whatever_order_they_run_in(tiny_llama):
    from reward.head_fit import label_features

    model, pad = mean_pooled_model(tiny_llama)
    generator = torch.Generator().manual_seed(0)
    labels = []
    for i, query_length in enumerate([30, 3, 17, 9, 25, 5, 12]):  # lengths out of order, so batches are reordered
        query = torch.randint(5, 100, (query_length,), generator=generator).tolist()
        samples = [torch.randint(5, 100, (2 + (i + j) % 5,), generator=generator).tolist() for j in range(4)]
        labels.append({"sequences": [query + s for s in samples], "best": i % 4, "query_length": query_length})
    batched, best = label_features(model, labels, pad, batch_size=3)
    alone = [label_features(model, [label], pad, batch_size=1) for label in labels]  # no padding at all
    assert best.tolist() == [label["best"] for label in labels]
    torch.testing.assert_close(batched, torch.cat([features for features, _ in alone]), rtol=1e-4, atol=1e-5)


def test_label_features_under_bf16_run_the_backbone_in_bf16_and_come_back_in_fp32_close_to_fp32s(tiny_llama):
    from reward.head_fit import label_features

    model, pad = mean_pooled_model(tiny_llama)
    generator = torch.Generator().manual_seed(1)
    labels = [{"sequences": [torch.randint(5, 100, (9 + j,), generator=generator).tolist() for j in range(4)],
               "best": i % 4, "query_length": 6} for i in range(5)]
    dtypes = []
    hook = model.model.layers[0].mlp.down_proj.register_forward_hook(lambda module, args, out: dtypes.append(out.dtype))
    full, _ = label_features(model, labels, pad, batch_size=2)
    half, best = label_features(model, labels, pad, batch_size=2, bf16=True)
    hook.remove()
    assert set(dtypes[: len(dtypes) // 2]) == {torch.float32} and set(dtypes[len(dtypes) // 2 :]) == {torch.bfloat16}
    assert half.dtype == torch.float32 and best.tolist() == [label["best"] for label in labels]
    assert not torch.equal(half, full)
    torch.testing.assert_close(half, full, rtol=0.05, atol=0.05)  # bf16 keeps 8 bits of mantissa
