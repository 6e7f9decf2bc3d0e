import torch
from transformers import AutoModelForCausalLM
from trl.experimental.ppo.ppo_trainer import PolicyAndValueWrapper

from rlhf.models.tokenizer import add_pad_token, load_tokenizer
from rlhf.policy.train import separate_value_model
from rlhf.policy.value_head import SharedTrunkPolicyValue, ValueHead, model_inputs, policy_and_values, reference_logits


def load(model_dir):
    tokenizer = load_tokenizer(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    add_pad_token(tokenizer, model)
    return model.eval(), tokenizer


def test_both_value_layouts_give_the_policys_own_logits_over_the_response(tiny_llama):
    policy, tokenizer = load(tiny_llama)
    pad = tokenizer.pad_token_id
    ids = torch.tensor([[pad, pad, 5, 6, 7, 8, 9], [3, 4, 5, 6, 7, 8, 9]])
    with torch.no_grad():
        full = policy(**model_inputs(ids, pad)).logits[:, -4:-1]
        shared_logits, shared_values = policy_and_values(SharedTrunkPolicyValue(policy, ValueHead(policy.config.hidden_size)), ids, pad, 3)
        separate = PolicyAndValueWrapper(policy, separate_value_model(str(tiny_llama), tokenizer))
        sep_logits, sep_values = policy_and_values(separate, ids, pad, 3)
        ref = reference_logits(policy, ids, pad, 3)
    for logits in (shared_logits, sep_logits, ref):
        assert torch.allclose(logits, full, atol=1e-5)
    assert shared_values.shape == sep_values.shape == (2, 3)
    assert torch.all(shared_values == 0) and torch.all(sep_values == 0)  # both value heads start at zero


def test_left_padding_does_not_change_the_response_logits(tiny_gpt2):
    policy, tokenizer = load(tiny_gpt2)
    pad = tokenizer.pad_token_id
    with torch.no_grad():
        padded = reference_logits(policy, torch.tensor([[pad, pad, 5, 6, 7, 8]]), pad, 2)
        plain = reference_logits(policy, torch.tensor([[5, 6, 7, 8]]), pad, 2)
    assert torch.allclose(padded, plain, atol=1e-5)


def test_the_shared_layout_trains_one_trunk(tiny_llama):
    policy, _ = load(tiny_llama)
    shared = SharedTrunkPolicyValue(policy, ValueHead(policy.config.hidden_size))
    extra = sum(p.numel() for p in shared.parameters()) - sum(p.numel() for p in policy.parameters())
    assert extra == policy.config.hidden_size + 1
