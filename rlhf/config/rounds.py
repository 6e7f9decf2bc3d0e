"""Configs derived from a run's own: round r of online collection, and the RL-only policy beside supervised + RL."""

from __future__ import annotations

from dataclasses import replace

from rlhf.config.run_config import Config


def round_config(config: Config, r: int) -> Config:
    """Round r's config: round 0 is the config itself."""
    if r == 0:
        return config
    previous = round_config(config, r - 1)
    labeling = replace(config.labeling, policy=str(previous.layout.policy), round=r,
                       database_url=config.database_url)
    systems = {**config.evaluation.systems, f"round-{r - 1}": str(previous.layout.policy)}
    return replace(config, name=f"{config.name}-round{r}", labeling=labeling,
                   evaluation=replace(config.evaluation, systems=systems))


def rl_only_config(config: Config) -> Config:
    """The config of the policy trained from the base model beside a supervised + RL one."""
    policy = replace(config.policy, init_from=None, also_from_base=False,
                     reward_model=config.policy.reward_model or str(config.layout.reward_model))
    return replace(config, name=f"{config.name}-rl", policy=policy)
