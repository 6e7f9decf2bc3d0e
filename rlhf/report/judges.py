"""How the report names judges, with the judge the policy was trained against marked as a proxy.

PPO raised the reward model's score, so the reward model's preference for the policy is partly
self-fulfilling: it measures how well the policy learned to please that model, not whether the
policy is better. Every table, sentence and figure that shows the reward model as a judge says
so. With `policy.reward: simulated` the simulated labeler's own score was optimised, and its win
rate is the proxy of that run. The simulated labeler of a reward-model run and people are not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from rlhf.report.runs import Run

REWARD_MODEL = "reward_model"
PROXY = "(proxy)"
PHRASES = {REWARD_MODEL: "the reward model", "human": "human labelers"}


def is_proxy(judge: str, run: Optional["Run"] = None) -> bool:
    """Whether the policy was trained to raise this judge's score (the reward model always counts)."""
    return judge == REWARD_MODEL or (judge.startswith("simulated") and run is not None and run.trained_on_labeler)


def judge_label(judge: str, run: Optional["Run"] = None) -> str:
    """The judge's name for tables and figures, e.g. `reward_model (proxy)`."""
    return f"{judge} {PROXY}" if is_proxy(judge, run) else judge


def judge_phrase(judge: str, run: Optional["Run"] = None) -> str:
    """The judge in a sentence, e.g. `the reward model (proxy)`."""
    name = PHRASES.get(judge, judge)
    return f"{name} {PROXY}" if is_proxy(judge, run) else name


def proxy_note(runs) -> Optional[str]:
    """Why proxy win rates are not evidence, for the runs whose judges include a proxy; None when none do."""
    judges = {(judge, run.trained_on_labeler) for run in runs for judge, _, _ in run.win_records()}
    sentences = []
    if any(judge == REWARD_MODEL for judge, _ in judges):
        sentences.append("The reward model is a proxy judge: the policy was trained to raise its score, so its win rate "
                         "is partly self-fulfilling and says how well the policy pleases that model, not that it is better.")
    if any(judge.startswith("simulated") and trained for judge, trained in judges):
        sentences.append("A run trained with policy.reward: simulated optimised the simulated labeler's own score, so "
                         "its simulated win rate is a proxy too.")
    if not sentences:
        return None
    return " ".join(sentences) + " Judges not marked (proxy) were not optimised against."
