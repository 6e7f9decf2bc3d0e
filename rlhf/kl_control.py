"""The KL coefficient beta: fixed, or adapted towards a KL target (Ziegler et al. 2019, section 2.2).

TRL's PPOTrainer has no adaptive controller; it reads `args.kl_coef` at every update, so a
callback that moves that attribute after each logged update adapts beta as the paper does:

    e_t = clip(KL_t / KL_target - 1, -0.2, 0.2)
    beta_{t+1} = beta_t * (1 + K_beta * e_t),  K_beta = 0.1 ... per 10,000 episodes,

implemented, as in openai/lm-human-preferences, as beta *= 1 + e_t * n_episodes / horizon.
"""

from __future__ import annotations

from typing import Optional

from transformers import TrainerCallback


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


class KLControlCallback(TrainerCallback):
    """After each PPO update, feed the measured KL to the controller and set the next beta."""

    def __init__(self, controller, kl_key: str = "objective/kl"):
        self.controller = controller
        self.kl_key = kl_key
        self.history: list[tuple[int, float, float]] = []  # (update, kl, beta used next)

    def on_train_begin(self, args, state, control, **kwargs):
        args.kl_coef = self.controller.value

    def on_log(self, args, state, control, logs: Optional[dict] = None, **kwargs):
        if not logs or self.kl_key not in logs:
            return
        used = args.kl_coef
        beta = self.controller.update(float(logs[self.kl_key]), n_episodes=args.batch_size)
        args.kl_coef = beta
        # Trainer.log copies the logs into log_history before callbacks run: record beta in both.
        for record in (logs, state.log_history[-1] if state.log_history else {}):
            record["objective/beta"] = used
        self.history.append((state.global_step, float(logs[self.kl_key]), beta))

    def attach(self, trainer) -> "KLControlCallback":
        """Add this callback ahead of the reporting integrations, so they log beta too."""
        trainer.callback_handler.callbacks.insert(0, self)
        return self
