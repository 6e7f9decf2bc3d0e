"""rlhf/token_sampler.py: one uniform number per row draws from the distribution generate() samples."""

from __future__ import annotations

import pytest
import torch
from transformers import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

from rlhf.token_sampler import InverseCdfSampler, draw, sampling_processors


def test_draws_follow_the_softmax_and_never_a_masked_token():
    probs = torch.tensor([0.5, 0.0, 0.25, 0.125, 0.0625, 0.0625])
    scores = probs.log().expand(200_000, -1)  # log 0 = -inf: a suppressed token
    torch.manual_seed(0)
    counts = torch.bincount(draw(scores).view(-1), minlength=6).double()
    frequencies = counts / counts.sum()
    tolerance = 5 * (probs * (1 - probs) / counts.sum()).sqrt().double()  # five standard errors
    assert counts[1] == 0
    assert ((frequencies - probs.double()).abs() <= tolerance + 1e-12).all(), frequencies


def test_a_tiny_tail_probability_is_kept(monkeypatch):
    # Behind a head of 1 - 1.4e-11 a float32 running sum ends at 1.0 and the tail token could never
    # be drawn; the float64 one keeps it for the top 1.4e-11 of uniform draws.
    scores = torch.tensor([[0.0, -25.0]])
    monkeypatch.setattr(torch, "rand", lambda *shape, **kw: torch.full(shape, 1 - 1e-12, dtype=kw.get("dtype")))
    assert draw(scores).item() == 1


def test_a_draw_rounded_past_the_end_takes_the_likeliest_token(monkeypatch):
    scores = torch.tensor([[2.0, 1.0, float("-inf")]])
    monkeypatch.setattr(torch, "rand", lambda *shape, **kw: torch.ones(*shape, dtype=kw.get("dtype")))
    assert draw(scores).item() == 0  # not the last token, whose probability is 0


def test_the_sampler_leaves_one_finite_score_and_greedy_takes_it():
    scores = torch.randn(8, 50)
    torch.manual_seed(1)
    out = InverseCdfSampler()(torch.zeros(8, 3, dtype=torch.long), scores.clone())
    assert ((out == 0).sum(1) == 1).all() and (out[out != 0] == float("-inf")).all()
    torch.manual_seed(1)
    assert torch.equal(out.argmax(-1, keepdim=True), draw(scores))


@pytest.mark.parametrize("temperature, top_k, top_p, kinds", [
    (1.0, 0, 1.0, []),
    (0.7, 0, 1.0, [TemperatureLogitsWarper]),
    (0.7, 40, 0.9, [TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper]),
])
def test_generates_warpers_in_its_order_then_the_draw(temperature, top_k, top_p, kinds):
    processors = sampling_processors(temperature, top_k, top_p)
    assert [type(p) for p in processors] == [*kinds, InverseCdfSampler]


def test_top_k_1_samples_the_argmax():
    scores = torch.randn(16, 100)
    out = scores.clone()
    for processor in sampling_processors(0.7, 1, 1.0):
        out = processor(None, out)
    assert torch.equal(out.argmax(-1), scores.argmax(-1))
