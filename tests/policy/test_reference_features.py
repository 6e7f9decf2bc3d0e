from contextlib import nullcontext

import pytest
import torch

from reward.model import build_reward_model
from rlhf.generation import SamplingSettings
from rlhf.models.tokenizer import add_pad_token, load_tokenizer
from rlhf.policy.reference_features import SharedTrunkReward, shared_trunk
from rlhf.policy.rollout import ResponseRule, collect
from rlhf.policy.value_head import SharedTrunkPolicyValue, ValueHead


def _models(location, pooling="mean", num_layers=None):
    from transformers import AutoModelForCausalLM

    tokenizer = load_tokenizer(str(location), "left")
    reference = AutoModelForCausalLM.from_pretrained(location).eval()
    add_pad_token(tokenizer, reference)
    reward = build_reward_model(str(location), tokenizer, pooling=pooling, num_layers=num_layers).eval()
    torch.nn.init.normal_(reward.score.linear.weight)  # a head that reads every feature
    reward.score.set_normalization(2.0, 0.5)
    return tokenizer, reference, reward


@pytest.mark.parametrize("kind", ["tiny_gpt2", "tiny_llama"])
@pytest.mark.parametrize("num_layers", [None, 1])
def test_a_reward_on_the_references_own_trunk_shares_it(kind, num_layers, request):
    _, reference, reward = _models(request.getfixturevalue(kind), num_layers=num_layers)
    shared = shared_trunk(reward, reference)
    assert isinstance(shared, SharedTrunkReward)
    assert shared.depth == (num_layers or reference.config.num_hidden_layers)


def test_a_trained_backbone_or_another_model_is_not_shared(tiny_llama, tiny_gpt2):
    _, reference, reward = _models(tiny_llama)
    with torch.no_grad():
        reward.model.layers[0].mlp.up_proj.weight[0, 0] += 1e-3  # one weight trained
    assert shared_trunk(reward, reference) is None
    _, gpt2_reference, _ = _models(tiny_gpt2)
    assert shared_trunk(_models(tiny_llama)[2], gpt2_reference) is None


def test_equal_weights_under_another_config_fail_the_probe(tiny_llama):
    _, reference, reward = _models(tiny_llama)
    reward.config.rms_norm_eps = 0.5
    for module in reward.modules():
        if hasattr(module, "variance_epsilon"):
            module.variance_epsilon = 0.5
    assert shared_trunk(reward, reference) is None


@pytest.mark.parametrize("pooling", ["last", "mean"])
@pytest.mark.parametrize("num_layers", [None, 1])
@pytest.mark.parametrize("chunk", [None, 2])  # None: the batch's first column is padding in every row
def test_rollout_scores_from_the_reference_pass_equal_the_reward_models_own(tiny_llama, pooling, num_layers, chunk):
    tokenizer, reference, reward = _models(tiny_llama, pooling, num_layers)
    model = SharedTrunkPolicyValue(reference, ValueHead(reference.config.hidden_size)).eval()
    pad = tokenizer.pad_token_id
    queries = torch.tensor([[pad] * (7 - n) + list(range(20, 20 + n)) for n in (1, 6, 2, 5, 3, 4)])
    # Most tokens stop, from position 2: responses are cut at different places, padding after the cut.
    rule = ResponseRule(list(range(0, 300)), 2, None)
    sampling = SamplingSettings(temperature=1.0, max_new_tokens=6)
    rollouts = []
    for scorer in (reward, shared_trunk(reward, reference)):
        torch.manual_seed(0)
        rollouts.append(collect(model, lambda: nullcontext(reference), scorer, queries, sampling, rule, pad,
                                tokenizer.eos_token_id, chunk=chunk))
    own, reused = rollouts
    assert torch.equal(own.responses, reused.responses)
    assert 0 < own.mask.sum() < own.mask.numel()  # some responses were cut
    assert torch.allclose(reused.scores, own.scores, atol=1e-5)
    assert torch.allclose(reused.raw_scores, own.raw_scores, atol=1e-5)
    assert own.scores.std() > 0.1  # scores that differ from row to row: a misread row would show


def test_scores_line_up_with_the_columns_the_reference_pass_kept(tiny_llama):
    from rlhf.policy.rollout import score_responses
    from rlhf.policy.value_head import reference_logits

    tokenizer, reference, reward = _models(tiny_llama, "last")
    shared = shared_trunk(reward, reference)
    pad = tokenizer.pad_token_id
    queries = torch.tensor([[pad, pad, 5, 6], [pad, 8, 9, 10]])  # the first column is padding in every row
    responses = torch.tensor([[11, 12, 13], [14, 15, 16]])
    cut = torch.tensor([[11, 12, pad], [14, 15, 16]])
    found = torch.tensor([True, True])
    with torch.no_grad(), shared.capture(reference) as kept:
        reference_logits(reference, torch.cat([queries, responses], 1), pad, 3)
        reused, _ = score_responses(shared, queries, cut, found, pad, None, kept[0])
        own, _ = score_responses(reward, queries, cut, found, pad, None)
    assert kept[0].shape[1] == 6  # the all-padding column was not computed
    assert torch.allclose(reused, own, atol=1e-5)
