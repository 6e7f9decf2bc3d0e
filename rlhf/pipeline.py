"""`rlhf run`: the whole loop, sample -> label -> reward -> sft -> policy -> evaluate -> report.

Each stage is skipped when its finished artifact exists and resumed when it was cut off (the label
store keeps what was sampled and labeled; reward and PPO training continue from their last
checkpoint; evaluation from the systems it finished). With human labelers the loop stops after
sampling and says how to continue. Round r > 0 (the paper's online collection) is its own run
directory, `<name>-round<r>`, that samples from round r-1's policy into the same label store, so
its reward model learns from every round's labels.

The supervised stage runs only when the config uses its model (`policy.init_from: sft`, or `sft`
among `evaluation.systems`). With `policy.also_from_base` the policy stage also trains a policy from
the base model in run `<name>-rl` (same reward model), so one config gives the paper's comparison:
zero-shot, supervised, RL and supervised + RL.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

from rlhf.config import Config, write_run_config
from rlhf.config.rounds import rl_only_config, round_config
from rlhf.config.secrets import DATABASE_URL_ENV, url_password

# sft first: the supervised model is the paper's baseline and, with labeling.policy: sft, what is sampled.
STAGES = ("sft", "sample", "label", "reward", "policy", "evaluate", "report")


def run_loop(config: Config, rounds: int = 1, log=print, stages: tuple[str, ...] = STAGES,
             timings: Optional[dict] = None) -> bool:
    """Run every round; False when it stopped to wait for human labels.

    `timings`, when given, receives each stage's wall seconds under (round, stage).
    """
    from rlhf.labeling.maintenance import refuse_damaged

    for r in range(rounds):
        current = round_config(config, r)
        log(f"== round {r}: {current.run_dir}")
        refuse_damaged(current.database_url)  # before config.yaml is written
        write_run_config(current)
        for stage in stages:
            started = time.perf_counter()
            finished = STAGE_FUNCTIONS[stage](current, log)
            if timings is not None:
                timings[(r, stage)] = time.perf_counter() - started
            if not finished:
                return False
    return True


def check_inputs(config: Config, log) -> None:
    """A new run's model and prompt source, checked before its directory is made: usable queries, and
    the supervised examples (reference summaries that fit) where the run trains a supervised model."""
    from rlhf.tasks.queries import check_model_and_prompts

    if not uses_sft(config):
        check_model_and_prompts(config, log=log)
        return
    from rlhf.models.loading import checked_location
    from rlhf.models.tokenizer import load_tokenizer
    from rlhf.sft.data import sft_dataset

    sft_dataset(config, load_tokenizer(checked_location(config, log)), "train", log=lambda message: None)  # its queries too


def uses_sft(config: Config) -> bool:
    """Whether anything in this config uses the run's supervised model."""
    return "sft" in (config.policy.init_from, config.labeling.policy, *config.evaluation.systems.values())


def sample_stage(config: Config, log) -> bool:
    from rlhf.labeling.batches import policy_name, sample_round
    from rlhf.labeling.store import open_store

    store = open_store(config)
    done = len(store.sampled_query_ids(policy_name(config), config.labeling.round))
    if done >= config.labeling.num_queries:
        log(f"sample: skipped, {done} batches of round {config.labeling.round} are stored")
        return True
    sample_round(config, store, config.labeling.num_queries - done, log)
    return True


def label_stage(config: Config, log) -> bool:
    from rlhf.labeling.store import open_store

    store = open_store(config)
    if config.labeling.simulator:
        from rlhf.labeling.simulated import simulate

        n = simulate(store, config.labeling.simulator, task=config.task, temperature=config.labeling.simulate_temperature,
                     labelers_per_batch=config.labeling.labelers_per_batch, seed=config.seed + config.labeling.round,
                     count_machines=config.labeling.count_machine_labelers, gold_rate=config.labeling.gold_rate)
        log(f"label: sim:{config.labeling.simulator} stored {n} labels")
        return True
    unlabeled = store.count_unlabeled_batches(config.labeling.round)
    if not unlabeled:
        log("label: every batch has a label")
        return True
    config_path = config.layout.config
    log(f"label: {unlabeled} batches of round {config.labeling.round} wait for human labels. Add labelers with "
        f"`rlhf labelers add NAME --config {config_path}`, start the app with `rlhf label --config {config_path}`, "
        f"and run `rlhf run` again once the labels are in (or set labeling.simulator to label with a simulated labeler)."
        + (f" The copy's database password is masked: set {DATABASE_URL_ENV} to the full labeling.database_url first."
           if url_password(config.labeling.database_url) else ""))
    return False


def reward_stage(config: Config, log) -> bool:
    from reward.train import train_reward
    from rlhf.labeling.store import open_store

    if config.policy.reward == "simulated":
        log("reward: skipped, policy.reward is simulated: PPO is scored by the simulated labeler itself")
        return True
    if config.layout.reward_done():
        log("reward: skipped, reward_model/ is trained")
        return True
    metrics = train_reward(config, None if config.reward.labels else open_store(config), log=log)
    log(f"reward: held-out best-of-n accuracy {metrics['best_of_n_accuracy']:.1%} (chance {metrics['chance_accuracy']:.0%})")
    return True


def sft_stage(config: Config, log) -> bool:
    from rlhf.sft.train import train_sft

    if not uses_sft(config):
        return True
    if config.layout.sft_done():
        log("sft: skipped, sft/ is trained")
        return True
    metrics = train_sft(config, log=log, resume=config.layout.sft_checkpoints.is_dir())
    log(f"sft: held-out loss {metrics['eval_loss_before']:.3f} -> {metrics['eval_loss']:.3f}")
    return True


def policy_stage(config: Config, log) -> bool:
    _train_policy_once(config, log, "policy")
    if config.policy.also_from_base:
        rl_only = rl_only_config(config)
        write_run_config(rl_only)
        _train_policy_once(rl_only, log, f"policy ({rl_only.name}, from the base model)")
    return True


def _train_policy_once(config: Config, log, label: str) -> None:
    from rlhf.policy.train import train_policy
    from rlhf.policy.trainer import latest_checkpoint

    if config.layout.policy_done():
        log(f"{label}: skipped, {config.layout.policy} is trained")
        return
    checkpoints = config.layout.policy_checkpoints
    resume = checkpoints.is_dir() and latest_checkpoint(checkpoints) is not None
    summary = train_policy(config, log=log, resume=resume)
    if summary.get("last"):
        log(f"{label}: reward {summary['first']['objective/scores']:+.3f} -> {summary['last']['objective/scores']:+.3f}, "
            f"KL {summary['last']['objective/kl']:.2f} nats")


def evaluate_stage(config: Config, log) -> bool:
    from rlhf.evaluation.evaluate import evaluate

    if config.layout.evaluation_done():
        log("evaluate: skipped, eval/metrics.json exists")
        return True
    metrics = evaluate(config, log=log)
    for judge, systems in metrics["judges"].items():
        for system, rate in systems.items():
            log(f"evaluate: {system} vs zero-shot by {judge}: {rate['win_rate']:.1%} [{rate['low']:.1%}, {rate['high']:.1%}]")
    return True


def report_stage(config: Config, log) -> bool:
    from rlhf.report.write import write_report

    paths = write_report([config.run_dir], config.run_dir)
    log(f"report: {paths['report.html']}")
    return True


STAGE_FUNCTIONS: dict[str, Callable[[Config, Callable], bool]] = {
    "sample": sample_stage, "label": label_stage, "reward": reward_stage, "sft": sft_stage,
    "policy": policy_stage, "evaluate": evaluate_stage, "report": report_stage,
}
