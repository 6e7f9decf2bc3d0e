"""The KL coefficient beta: fixed, or adapted towards a KL target (Ziegler et al. 2019, section 2.2).

TRL's PPOTrainer has no adaptive controller; the policy trainer (`rlhf.policy.trainer`) reads
beta from one of these before each update and feeds it the measured KL after, as the paper does:

    e_t = clip(KL_t / KL_target - 1, -0.2, 0.2)
    beta_{t+1} = beta_t * (1 + K_beta * e_t),  K_beta = 0.1 ... per 10,000 episodes,

implemented, as in openai/lm-human-preferences, as beta *= 1 + e_t * n_episodes / horizon.
"""

from __future__ import annotations


class AdaptiveKLController:
    def __init__(self, init_kl_coef: float, target: float, horizon: int):
        self.value = init_kl_coef
        self.target = target
        self.horizon = horizon

    def update(self, current_kl: float, n_episodes: int) -> float:
        error = min(max(current_kl / self.target - 1.0, -0.2), 0.2)
        self.value *= 1.0 + error * n_episodes / self.horizon
        return self.value


class FixedKLController:
    def __init__(self, kl_coef: float):
        self.value = kl_coef

    def update(self, current_kl: float, n_episodes: int) -> float:
        return self.value


def controller_for(task) -> AdaptiveKLController | FixedKLController:
    """The task's controller: adaptive when it names a KL target, else a fixed beta."""
    if task.kl_target is None:
        return FixedKLController(task.kl_coef)
    return AdaptiveKLController(task.kl_coef, task.kl_target, task.kl_horizon)
