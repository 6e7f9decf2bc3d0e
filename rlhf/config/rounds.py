"""Configs derived from a run's own: round r of online collection, and the RL-only policy beside supervised + RL."""

from __future__ import annotations

from dataclasses import replace

from rlhf.config.run_config import Config


def round_config(config: Config, r: int) -> Config:
    """Round r's config: round 0 is the config itself.

    Every round uses round 0's supervised model (`sft` is resolved to its directory), so it is
    trained once; round r samples from round r-1's policy into round 0's label store. The RL-only
    policy beside a supervised + RL one (policy.also_from_base) is trained in round 0 only: the
    rounds are the supervised + RL policy's online collection. Round r's evaluation reuses the
    earlier rounds' samples of the systems it shares with them (zero-shot, supervised, round r-1's
    policy), since the same models sample the same queries with the same seed.
    """
    if r == 0:
        return config
    previous = round_config(config, r - 1)
    sft = lambda value: str(config.layout.sft) if value == "sft" else value
    labeling = replace(config.labeling, policy=str(previous.layout.policy), round=r,
                       database_url=config.database_url)
    systems = {**{name: sft(path) for name, path in config.evaluation.systems.items()},
               f"round-{r - 1}": str(previous.layout.policy)}
    return replace(config, name=f"{config.name}-round{r}", labeling=labeling,
                   policy=replace(config.policy, init_from=sft(config.policy.init_from), also_from_base=False),
                   evaluation=replace(config.evaluation, systems=systems,
                                      reuse_samples_from=[*previous.evaluation.reuse_samples_from, str(previous.run_dir)]))


def rl_only_config(config: Config) -> Config:
    """The config of the policy trained from the base model beside a supervised + RL one."""
    policy = replace(config.policy, init_from=None, also_from_base=False,
                     reward_model=config.policy.reward_model or str(config.layout.reward_model))
    return replace(config, name=f"{config.name}-rl", policy=policy)
