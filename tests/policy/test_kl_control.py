
import pytest

from rlhf.config.task import load_task
from rlhf.policy.kl_control import AdaptiveKLController, FixedKLController, controller_for


def test_beta_rises_above_target_and_falls_below_by_the_papers_formula():
    c = AdaptiveKLController(0.15, target=6.0, horizon=10_000)
    assert c.update(9.0, n_episodes=512) == pytest.approx(0.15 * (1 + 0.2 * 512 / 10_000))  # error 0.5 clipped to 0.2
    before = c.value
    assert c.update(5.7, n_episodes=512) == pytest.approx(before * (1 - 0.05 * 512 / 10_000))  # error -0.05
    before = c.value
    assert c.update(0.0, n_episodes=100) == pytest.approx(before * (1 - 0.2 * 100 / 10_000))  # clipped at -0.2
    before = c.value
    assert c.update(6.0, n_episodes=100) == before and c.value == before  # on target: unchanged


def test_fixed_beta_never_moves_and_tasks_pick_their_controller():
    assert FixedKLController(0.03).update(100.0, 512) == 0.03
    assert isinstance(controller_for(load_task("sentiment")), AdaptiveKLController)
    fixed = controller_for(load_task("tldr"))
    assert isinstance(fixed, FixedKLController) and fixed.value == 0.03
