from contextlib import nullcontext

import pytest
import torch

from reward.model import build_reward_model, sequence_rewards
from rlhf.generation import SamplingSettings
from rlhf.models.tokenizer import add_pad_token, load_tokenizer
from rlhf.policy.rollout import ResponseRule, collect, score_responses
from rlhf.policy.value_head import SharedTrunkPolicyValue, ValueHead
from rlhf.tasks.truncation import truncate_responses

PAD, STOP = 0, 7


def test_the_papers_rule_on_hand_made_tokens():
    responses = torch.tensor([
        [7, 1, 2, 7, 3, 7],  # a stop before position 2 does not count; the one at 3 does
        [1, 2, 3, 4, 5, 6],  # no stop at all
        [1, 7, 2, 3, 4, 5],  # a stop only before position 2
        [1, 2, 7, 3, 4, 5],  # a stop exactly at position 2
    ])
    cut, found = truncate_responses(responses, [STOP], 2, PAD)
    assert found.tolist() == [True, False, False, True]
    assert cut.tolist() == [[7, 1, 2, 7, 0, 0], [1, 2, 3, 4, 5, 6], [1, 7, 2, 3, 4, 5], [1, 2, 7, 0, 0, 0]]


@pytest.fixture
def reward_model(tiny_gpt2):
    tokenizer = load_tokenizer(str(tiny_gpt2), "right")
    add_pad_token(tokenizer)
    model = build_reward_model(str(tiny_gpt2), tokenizer).eval()
    model.score.set_normalization(2.0, 0.5)
    return model, tokenizer


def test_scores_read_the_cut_response_and_the_penalty_replaces_a_missing_stop(reward_model):
    model, tokenizer = reward_model
    pad = tokenizer.pad_token_id
    queries = torch.tensor([[pad, 5, 6], [8, 9, 10]])
    cut = torch.tensor([[11, 12, pad], [13, 14, 15]])
    found = torch.tensor([True, False])
    with torch.no_grad():
        scores, raw = score_responses(model, queries, cut, found, pad, penalty_reward=-1.0)
        alone = sequence_rewards(model, torch.tensor([[5, 6, 11, 12]]), torch.ones(1, 4, dtype=torch.long))
        second = sequence_rewards(model, torch.tensor([[8, 9, 10, 13, 14, 15]]), torch.ones(1, 6, dtype=torch.long))
    assert scores[0].item() == pytest.approx(alone.item(), abs=1e-4)  # left padding and the cut change nothing
    assert scores[1].item() == -1.0
    assert raw[1].item() == pytest.approx((second.item() - 0.5) / 2.0, abs=1e-4)  # raw is the head before gain and bias
    with torch.no_grad():
        unpenalized, _ = score_responses(model, queries, cut, found, pad, penalty_reward=None)
    assert unpenalized[1].item() == pytest.approx(second.item(), abs=1e-4)  # no penalty: scored as sampled


def test_a_mean_pooled_reward_reads_the_cut_response_only(reward_model):
    model, tokenizer = reward_model
    model.score.pooling = "mean"
    pad = tokenizer.pad_token_id
    queries, cut = torch.tensor([[pad, 5, 6]]), torch.tensor([[11, 12, pad]])
    with torch.no_grad():
        scores, _ = score_responses(model, queries, cut, torch.tensor([True]), pad, penalty_reward=None)
        alone = sequence_rewards(model, torch.tensor([[5, 6, 11, 12]]), torch.ones(1, 4, dtype=torch.long),
                                 torch.tensor([[0, 0, 1, 1]]))
    assert scores.item() == pytest.approx(alone.item(), abs=1e-4)


def test_collect_masks_everything_past_the_cut(tiny_gpt2, reward_model):
    from transformers import AutoModelForCausalLM

    rm, tokenizer = reward_model
    policy = AutoModelForCausalLM.from_pretrained(tiny_gpt2)
    add_pad_token(tokenizer, policy)
    model = SharedTrunkPolicyValue(policy, ValueHead(policy.config.hidden_size)).eval()
    ref = AutoModelForCausalLM.from_pretrained(tiny_gpt2)
    add_pad_token(tokenizer, ref)
    ref.load_state_dict(policy.state_dict())
    pad = tokenizer.pad_token_id
    queries = torch.tensor([[pad, pad, 5, 6], [7, 8, 9, 10]] * 4)
    stop_ids = list(range(0, 200))  # most tokens stop: cuts happen
    torch.manual_seed(0)
    r = collect(model, lambda: nullcontext(ref), rm, queries, SamplingSettings(temperature=1.0, max_new_tokens=6),
                ResponseRule(stop_ids, 2, -1.0), pad, tokenizer.eos_token_id, chunk=3)
    assert r.responses.shape == (8, 6) and r.mask.shape == (8, 6)
    cut, found = truncate_responses(r.responses, stop_ids, 2, pad)
    assert torch.equal(r.mask, cut != pad) and torch.equal(r.found_stop, found)
    assert torch.allclose(r.logprobs[r.mask], r.ref_logprobs[r.mask], atol=1e-5)  # policy == reference at the start
    assert torch.all(r.values == 0)  # the value head starts at zero
    assert torch.all(r.scores[~found] == -1.0)



def test_chunks_of_similar_lengths_cut_to_their_longest_query_change_nothing(tiny_gpt2, reward_model):
    from transformers import AutoModelForCausalLM

    rm, tokenizer = reward_model
    policy = AutoModelForCausalLM.from_pretrained(tiny_gpt2)
    add_pad_token(tokenizer, policy)
    model = SharedTrunkPolicyValue(policy, ValueHead(policy.config.hidden_size)).eval()
    torch.nn.init.normal_(model.value_model.head.weight)  # values that are not all zero
    pad = tokenizer.pad_token_id
    # Lengths 1, 6, 2, 5, 3, 4 and a column of padding in every row: sorted chunks of 2 are cut to 2, 4 and 6 columns.
    lengths = [1, 6, 2, 5, 3, 4]
    queries = torch.tensor([[pad] * (7 - n) + list(range(20, 20 + n)) for n in lengths])
    greedy = SamplingSettings(temperature=1.0, top_k=1, max_new_tokens=5)
    rule = ResponseRule([STOP], 2, None)
    rollouts = [collect(model, lambda: nullcontext(policy), rm, queries, greedy, rule, pad, tokenizer.eos_token_id, chunk=c)
                for c in (None, 2)]
    whole, chunked = rollouts
    assert torch.equal(chunked.queries, queries) and torch.equal(chunked.responses, whole.responses)  # the batch's order
    for name in ("logprobs", "ref_logprobs", "values", "scores"):
        assert torch.allclose(getattr(chunked, name), getattr(whole, name), atol=1e-4), name
    assert whole.values.abs().sum() > 0


def test_the_rollout_reads_log_probs_and_values_from_sampling_as_a_full_pass_gives_them(tiny_gpt2, reward_model):
    from transformers import AutoModelForCausalLM

    from rlhf.policy.value_head import policy_and_values, token_logprobs

    rm, tokenizer = reward_model
    policy = AutoModelForCausalLM.from_pretrained(tiny_gpt2)
    add_pad_token(tokenizer, policy)
    model = SharedTrunkPolicyValue(policy, ValueHead(policy.config.hidden_size)).eval()
    torch.nn.init.normal_(model.value_model.head.weight)
    pad = tokenizer.pad_token_id
    queries = torch.tensor([[pad, pad, 5, 6], [7, 8, 9, 10], [pad, 11, 12, 13]])
    torch.manual_seed(0)
    r = collect(model, lambda: nullcontext(policy), rm, queries, SamplingSettings(temperature=0.7, max_new_tokens=6),
                ResponseRule([STOP], 2, None), pad, tokenizer.eos_token_id)
    with torch.no_grad():
        logits, values = policy_and_values(model, r.query_responses, pad, 6)
    assert torch.allclose(r.logprobs[r.mask], token_logprobs(logits, r.responses, 0.7)[r.mask], atol=1e-4)
    assert torch.allclose(r.values[r.mask], values[r.mask], atol=1e-4) and r.values.abs().sum() > 0


def test_under_bf16_autocast_the_ppo_arithmetic_stays_fp32(tiny_gpt2, reward_model):
    from transformers import AutoModelForCausalLM

    from rlhf.policy.advantages import generalized_advantages, kl_penalized_rewards
    from rlhf.policy.value_head import entropy, policy_and_values, token_logprobs

    rm, tokenizer = reward_model
    policy = AutoModelForCausalLM.from_pretrained(tiny_gpt2)
    add_pad_token(tokenizer, policy)
    model = SharedTrunkPolicyValue(policy, ValueHead(policy.config.hidden_size)).eval()
    pad = tokenizer.pad_token_id
    queries = torch.tensor([[pad, 5, 6], [7, 8, 9]])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        r = collect(model, lambda: nullcontext(policy), rm, queries, SamplingSettings(max_new_tokens=4),
                    ResponseRule([STOP], 2, None), pad, tokenizer.eos_token_id)
        logits, values = policy_and_values(model, r.query_responses, pad, 4)
        assert logits.dtype == torch.bfloat16  # the matmuls do run in bf16
        assert token_logprobs(logits, r.responses, 0.7).dtype == entropy(logits, 0.7).dtype == torch.float32
        rewards, kl = kl_penalized_rewards(r.scores, r.logprobs, r.ref_logprobs, r.mask, 0.1)
        advantages, returns = generalized_advantages(rewards, r.values, r.mask, 1.0, 0.95)
    for name in ("logprobs", "ref_logprobs", "values", "scores"):
        assert getattr(r, name).dtype == torch.float32, name
    assert rewards.dtype == kl.dtype == advantages.dtype == returns.dtype == torch.float32
