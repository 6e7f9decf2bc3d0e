import torch

from rlhf.policy.advantages import generalized_advantages, kl_penalized_rewards, last_kept_index, masked_mean, whiten


def test_kl_penalty_per_kept_token_and_score_at_the_last_kept_token():
    logprobs = torch.tensor([[-1.0, -2.0, -3.0], [-1.0, -1.0, -1.0]])
    ref = torch.tensor([[-1.5, -2.0, -1.0], [-2.0, -2.0, -2.0]])
    mask = torch.tensor([[True, True, False], [True, True, True]])
    rewards, kl = kl_penalized_rewards(torch.tensor([2.0, -1.0]), logprobs, ref, mask, beta=0.1)
    assert torch.allclose(kl, torch.tensor([[0.5, 0.0, 0.0], [1.0, 1.0, 1.0]]))
    assert torch.allclose(rewards, torch.tensor([[-0.05, 2.0, 0.0], [-0.1, -0.1, -1.1]]))
    assert last_kept_index(mask).tolist() == [1, 2]


def test_gae_matches_a_hand_computation():
    rewards = torch.tensor([[0.0, 0.0, 1.0, 0.0]])
    values = torch.tensor([[0.5, 0.2, 0.1, 9.0]])  # the value past the cut must be ignored
    mask = torch.tensor([[True, True, True, False]])
    gamma, lam = 1.0, 0.5
    d2 = 1.0 - 0.1
    d1 = 0.0 + 0.1 - 0.2
    d0 = 0.0 + 0.2 - 0.5
    a2, a1 = d2, d1 + lam * d2
    a0 = d0 + lam * a1
    raw = torch.tensor([a0, a1, a2])
    advantages, returns = generalized_advantages(rewards, values, mask, gamma, lam)
    assert torch.allclose(returns[0, :3], raw + values[0, :3])
    assert returns[0, 3] == 0 and advantages[0, 3] == 0
    expected = (raw - raw.mean()) / raw.var(unbiased=False).add(1e-8).sqrt()
    assert torch.allclose(advantages[0, :3], expected, atol=1e-5)


def test_whiten_and_masked_mean_ignore_cut_tokens():
    values = torch.tensor([[1.0, 3.0, 100.0]])
    mask = torch.tensor([[True, True, False]])
    assert masked_mean(values, mask).item() == 2.0
    w = whiten(values, mask)
    assert torch.allclose(w, torch.tensor([[-1.0, 1.0, 0.0]]), atol=1e-4)
