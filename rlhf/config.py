"""The run config: one YAML file per experiment, every field typed and documented.

`load_config(path, overrides)` reads YAML, applies `key=value` overrides (dotted keys for nested
sections), resolves the task (a built-in name, a YAML path, or an inline mapping) and checks
everything, raising one `ConfigError` naming the key. Later stages add their own sections here.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

from rlhf.config_loader import dump_yaml, expand_path, from_dict, option, read_yaml, set_dotted, to_dict
from rlhf.errors import ConfigError
from rlhf.models import ModelConfig, context_length
from rlhf.prompts import PromptSource
from rlhf.tasks import Task, resolve_task_spec
from rlhf.training_options import TrainingOptions


@dataclass
class GenerationSettings:
    temperature: Optional[float] = option(None, help="Sampling temperature; unset: the task's.")
    top_k: Optional[int] = option(None, help="Top-k sampling (0 off); unset: the task's.")
    top_p: Optional[float] = option(None, help="Nucleus sampling mass (1.0 off); unset: the task's.")
    max_new_tokens: Optional[int] = option(None, help="Tokens to sample per continuation; unset: the task's response_length.")
    num_samples: int = option(1, help="Continuations per prompt.")
    batch_size: int = option(16, help="Prompts per generation batch.")
    num_prompts: Optional[int] = option(None, help="Use only the first N prompts of the split; unset: all.")
    split: Literal["train", "eval"] = option("eval", help="Prompt split to continue.")
    truncate: bool = option(True, help="Apply the task's truncation rule to each continuation.")

    def problems(self):
        if self.temperature is not None and self.temperature <= 0:
            yield "temperature", f"must be positive, got {self.temperature}"
        if self.top_k is not None and self.top_k < 0:
            yield "top_k", f"must be 0 (off) or positive, got {self.top_k}"
        if self.top_p is not None and not 0 < self.top_p <= 1:
            yield "top_p", f"must be in (0, 1], got {self.top_p}"
        for name in ("max_new_tokens", "num_samples", "batch_size", "num_prompts"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                yield name, f"must be positive, got {value}"


@dataclass
class LabelingConfig:
    database_url: Optional[str] = option(None, help="SQLAlchemy URL of the label store; unset: SQLite labels.db in the run directory.")
    num_queries: int = option(64, help="Queries `rlhf sample` draws from the train split (its --n).")
    samples_per_query: int = option(4, help="Continuations per query that a labeler chooses among (the paper: 4).")
    policy: Optional[str] = option(None, help="Model directory to sample from; unset: the base model (round 0).")
    round: int = option(0, help="Collection round the samples belong to (online collection samples round r from policy r-1).")
    labelers_per_batch: int = option(1, help="Labelers each batch goes to (more than 1 measures agreement).")
    host: str = option("127.0.0.1", help="Address the labeling app listens on (loopback by default).")
    port: int = option(8501, help="Port of the labeling app.")
    session_minutes: int = option(480, help="A sign-in in the labeling app lasts this long, then the labeler signs in again.")
    idle_minutes: int = option(60, help="A labeling app session unused this long is signed out.")
    simulator: Optional[str] = option(
        None, help="`rlhf run` labels with this simulated labeler (sentiment, descriptiveness, rouge); unset: humans in the browser."
    )
    simulate_temperature: Optional[float] = option(
        None, help="Boltzmann temperature of simulated labelers (0: always the best); unset: each kind's default, set near human agreement."
    )

    def problems(self):
        for name in ("num_queries", "labelers_per_batch"):
            if getattr(self, name) <= 0:
                yield name, f"must be positive, got {getattr(self, name)}"
        if self.samples_per_query < 2:
            yield "samples_per_query", f"must be at least 2, got {self.samples_per_query}"
        for name in ("session_minutes", "idle_minutes"):
            if getattr(self, name) <= 0:
                yield name, f"must be positive, got {getattr(self, name)}"
        if not 0 < self.port < 65536:
            yield "port", f"must be a TCP port (1-65535), got {self.port}"
        if self.round < 0:
            yield "round", f"must be 0 or positive, got {self.round}"
        if self.simulator is not None and self.simulator not in ("sentiment", "descriptiveness", "rouge"):
            yield "simulator", f"unknown simulated labeler {self.simulator!r}: use sentiment, descriptiveness or rouge"
        if self.simulate_temperature is not None and self.simulate_temperature < 0:
            yield "simulate_temperature", f"must be 0 or positive, got {self.simulate_temperature}"


def not_positive(settings, *names: str):
    """(key, problem) for each named setting that is zero or negative."""
    for name in names:
        if getattr(settings, name) <= 0:
            yield name, f"must be positive, got {getattr(settings, name)}"


@dataclass
class SftSettings(TrainingOptions):
    learning_rate: float = option(5e-5, help="Peak learning rate, decayed linearly to 0.")
    epochs: float = option(1.0, help="Passes over the training examples.")
    batch_size: int = option(8, help="Sequences per device per step.")
    max_examples: Optional[int] = option(None, help="Train on at most this many examples of the train split; unset: all.")
    logging_steps: int = option(5, help="Log every N updates.")
    eval_steps: int = option(50, help="Held-out loss every N updates (and before and after training).")
    save_steps: int = option(50, help="Checkpoint every N updates (--resume continues from the last).")
    report_to: str = option("none", help="Trainer logging integrations: none, tensorboard, wandb, all.")

    def problems(self):
        yield from super().problems()
        yield from not_positive(self, "learning_rate", "epochs", "logging_steps", "eval_steps", "save_steps")
        if self.max_examples is not None and self.max_examples <= 0:
            yield "max_examples", f"must be positive, got {self.max_examples}"


@dataclass
class RewardSettings(TrainingOptions):
    backbone: Optional[str] = option(None, help="Reward model backbone; unset: the run's base model (as in the paper).")
    labels: Optional[str] = option(None, help="A best_of_4.jsonl export to train on; unset: the run's label store.")
    loss: Literal["best_of_n", "pairwise"] = option(
        "best_of_n", help="best_of_n: softmax cross-entropy over each label's samples (the paper); pairwise: Bradley-Terry on the implied pairs."
    )
    pooling: Literal["last", "mean"] = option(
        "last", help="Where the scalar head reads: last: the last token (the paper); mean: the mean over the response's tokens "
                     "(generalises from far fewer labels: see bench/reward_pooling.py)."
    )
    train_backbone: bool = option(
        True, help="true: train every weight (the paper); false: fit the head alone on the frozen backbone's features, "
                   "to convergence (seconds; far better from a few hundred labels: see bench/reward_pooling.py)."
    )
    backbone_layers: Optional[int] = option(
        None, help="Keep only the backbone's first N blocks (unset: all). A middle layer's features can serve a frozen "
                   "backbone better than the last, and the reward model then runs faster in PPO."
    )
    head_l2: float = option(1.0, help="With train_backbone: false, the L2 penalty on the head's weights (on standardised features).")
    learning_rate: float = option(5e-5, help="Peak learning rate, decayed linearly to 0 (the paper: 5e-5 for books).")
    batch_size: int = option(8, help="Labels per device per step (each label is n sequences).")
    gradient_accumulation_steps: int = option(4, help="Steps accumulated per update (effective batch = batch_size x this x devices).")
    epochs: float = option(1.0, help="Passes over the labels (the paper: 1).")
    eval_fraction: float = option(0.2, help="Share of queries held out for evaluation.")
    normalize_samples: int = option(256, help="Base-policy samples the gain and bias are fitted on (the paper: 256).")
    logging_steps: int = option(5, help="Log every N updates.")
    save_steps: int = option(50, help="Checkpoint every N updates (resume continues from the last).")
    report_to: str = option("none", help="Trainer logging integrations: none, tensorboard, wandb, all.")

    def problems(self):
        yield from super().problems()
        yield from not_positive(self, "learning_rate", "epochs", "normalize_samples", "logging_steps", "save_steps")
        if not 0 < self.eval_fraction < 1:
            yield "eval_fraction", f"must be in (0, 1), got {self.eval_fraction}"
        if self.normalize_samples < 2:
            yield "normalize_samples", f"must be at least 2, got {self.normalize_samples}"
        if self.labels is not None and not expand_path(self.labels).is_file():
            yield "labels", f"no such file: {self.labels}"
        if self.backbone_layers is not None and self.backbone_layers < 1:
            yield "backbone_layers", f"must be at least 1 (or unset for all), got {self.backbone_layers}"
        if self.head_l2 < 0:
            yield "head_l2", f"must be 0 or positive, got {self.head_l2}"
        if not self.train_backbone and self.lora_r:
            yield "lora_r", "LoRA adapts the backbone, which train_backbone: false freezes: set one of them"


@dataclass
class PolicySettings(TrainingOptions):
    reward_model: Optional[str] = option(None, help="Reward model directory; unset: the run's reward_model.")
    learning_rate: float = option(1.41e-5, help="Adam learning rate, decayed linearly to 0 (the paper: 1.41e-5).")
    total_episodes: int = option(1024, help="Rollouts to train on in all (the paper: 2M for books; a CPU manages hundreds).")
    batch_size: int = option(16, help="Rollouts per PPO update, per process (the paper: 512).")
    mini_batches: int = option(1, help="Optimizer steps per PPO epoch; the batch is split into this many mini-batches.")
    gradient_accumulation_steps: int = option(1, help="Forward/backward passes per mini-batch (the mini-batch split into this many micro-batches).")
    micro_batch_size: Optional[int] = option(None, help="Sequences per forward/backward, instead of gradient_accumulation_steps; unset: mini-batch / gradient_accumulation_steps.")
    init_from: Optional[str] = option(
        None, help="Start the policy (and the KL reference) from this model instead of the base model: `sft` (the run's supervised model) or a directory."
    )
    also_from_base: bool = option(
        False, help="With init_from: `rlhf run` also trains a policy from the base model (run <name>-rl), evaluated as system `rl`, "
                    "so one run compares zero-shot, supervised, RL and supervised + RL."
    )
    ppo_epochs: int = option(4, help="Passes over each batch of rollouts (the paper: 4).")
    cliprange: float = option(0.2, help="PPO policy ratio clip.")
    cliprange_value: float = option(0.2, help="Value prediction clip around the rollout's values.")
    vf_coef: float = option(0.1, help="Weight of the value loss (the paper: 0.1).")
    gamma: float = option(1.0, help="Discount (the paper: 1).")
    lam: float = option(0.95, help="GAE lambda (the paper: 0.95).")
    value_head: Literal["shared", "separate"] = option(
        "shared", help="shared: a scalar value head on the policy's own trunk (the paper); separate: TRL's own value model, a second full copy."
    )
    lora_r: int = option(0, help="LoRA rank; 0 trains every weight. With LoRA the reference is the adapter switched off.")
    rollout_batch_size: Optional[int] = option(None, help="Sequences generated and scored at once; unset: the whole batch.")
    logging_steps: int = option(1, help="Log every N updates.")
    save_steps: int = option(10, help="Checkpoint every N updates (--resume continues from the last).")
    sample_every: int = option(10, help="Print and save a table of sample responses every N updates; 0 never.")
    report_to: str = option("none", help="Logging integrations: none, tensorboard, wandb, all.")

    def problems(self):
        yield from super().problems()
        yield from not_positive(self, "learning_rate", "total_episodes", "mini_batches", "ppo_epochs",
                                "logging_steps", "save_steps")
        if self.batch_size % self.mini_batches:
            yield "mini_batches", f"must divide batch_size={self.batch_size}, got {self.mini_batches}"
        mini = self.batch_size // max(self.mini_batches, 1)
        if self.micro_batch_size is not None and (self.micro_batch_size <= 0 or mini % self.micro_batch_size):
            yield "micro_batch_size", f"must divide the mini-batch of {mini} rollouts, got {self.micro_batch_size}"
        if self.micro_batch_size is not None and self.gradient_accumulation_steps != 1:
            yield "micro_batch_size", "set micro_batch_size or gradient_accumulation_steps, not both"
        elif self.gradient_accumulation_steps > 0 and mini % self.gradient_accumulation_steps:
            yield "gradient_accumulation_steps", f"must divide the mini-batch of {mini} rollouts, got {self.gradient_accumulation_steps}"
        if self.rollout_batch_size is not None and self.rollout_batch_size <= 0:
            yield "rollout_batch_size", f"must be positive, got {self.rollout_batch_size}"
        if self.sample_every < 0:
            yield "sample_every", f"must be 0 (never) or positive, got {self.sample_every}"
        if self.reward_model is not None and not (expand_path(self.reward_model) / "config.json").is_file():
            yield "reward_model", f"{self.reward_model} holds no reward model (no config.json); train one with `rlhf train-reward`"
        if self.also_from_base and self.init_from is None:
            yield "also_from_base", "needs policy.init_from (the policy trained from it is then the supervised + RL one)"
        if self.init_from not in (None, "sft") and not (expand_path(self.init_from) / "config.json").is_file():
            yield "init_from", f"{self.init_from} holds no model (no config.json): use sft (the run's `rlhf sft` model) or a model directory"

    @property
    def mini_batch_size(self) -> int:
        return self.batch_size // self.mini_batches

    @property
    def micro_batch(self) -> int:
        """Sequences per forward/backward pass."""
        return self.micro_batch_size or self.mini_batch_size // self.gradient_accumulation_steps


@dataclass
class EvaluationSettings:
    num_queries: Optional[int] = option(64, help="Held-out (eval split) queries to evaluate on; unset: all of them.")
    samples_per_query: int = option(4, help="Samples per query and system; a judge compares their mean score (single samples tie often).")
    policy: Optional[str] = option(None, help="The fine-tuned policy directory; unset: the run's policy.")
    systems: dict[str, str] = option(
        factory=dict, help="More systems to compare with zero-shot, name: model directory (an earlier round, a supervised model; `sft`: the run's own)."
    )
    lead_sentences: int = option(3, help="Summaries: the lead-k baseline (the source's first k sentences); 0 leaves it out.")
    include_reference: bool = option(True, help="Summaries: evaluate the reference summaries as a system too.")
    zero_shot_top_k: Optional[int] = option(
        None, help="Top-k of the zero-shot baseline only (2: GPT-2's zero-shot TL;DR setting); unset: the task's sampling."
    )
    judges: list[str] = option(
        factory=lambda: ["simulated", "reward_model"],
        help="Automatic judges: simulated (the task's simulated labeler), reward_model (a proxy: the policy was trained on it).",
    )
    human_pairs: int = option(1, help="`rlhf evaluate --human`: pairs per query and system queued for the browser's Compare page.")
    batch_size: int = option(16, help="Queries per generation and scoring batch.")

    def problems(self):
        yield from not_positive(self, "samples_per_query", "batch_size", "human_pairs")
        if self.num_queries is not None and self.num_queries <= 0:
            yield "num_queries", f"must be positive, got {self.num_queries}"
        if self.lead_sentences < 0:
            yield "lead_sentences", f"must be 0 (off) or positive, got {self.lead_sentences}"
        if self.zero_shot_top_k is not None and self.zero_shot_top_k < 0:
            yield "zero_shot_top_k", f"must be 0 (off) or positive, got {self.zero_shot_top_k}"
        for judge in self.judges:
            if judge not in ("simulated", "reward_model"):
                yield "judges", f"unknown judge {judge!r}: use simulated and/or reward_model (humans judge in the app)"
        for name, path in self.systems.items():
            if name in RESERVED_SYSTEMS:
                yield f"systems.{name}", f"{name!r} is a built-in system name; pick another"
            elif path != "sft" and not (expand_path(path) / "config.json").is_file():
                yield f"systems.{name}", f"{path} holds no model (no config.json)"


RESERVED_SYSTEMS = ("zero-shot", "policy", "reference", "lead-3")


@dataclass
class Config:
    name: str = option("default", help="Run name; the run directory is output_dir/name.")
    output_dir: str = option("runs", help="Folder holding one directory per run.")
    seed: int = option(0, help="Random seed of every stage.")
    model: ModelConfig = option(factory=ModelConfig, help="The base model (policy initialisation and reference).")
    task: Task = option(factory=lambda: _default_task(), help="Task: a built-in name, a task YAML path, or a mapping.")
    prompts: Optional[PromptSource] = option(None, help="Prompt source; unset: the task's default source.")
    generation: GenerationSettings = option(factory=GenerationSettings, help="Settings of `rlhf generate`.")
    labeling: LabelingConfig = option(factory=LabelingConfig, help="Sampling for labelers, the label store and the labeling app.")
    sft: SftSettings = option(factory=SftSettings, help="Supervised fine-tuning of the base model (`rlhf sft`).")
    reward: RewardSettings = option(factory=RewardSettings, help="Reward model training.")
    policy: PolicySettings = option(factory=PolicySettings, help="Policy training with PPO.")
    evaluation: EvaluationSettings = option(factory=EvaluationSettings, help="Evaluation against the zero-shot baseline.")

    def problems(self):
        if not self.name or "/" in self.name or self.name in (".", ".."):
            yield "name", f"must be a plain folder name, got {self.name!r}"

    @property
    def run_dir(self) -> Path:
        return expand_path(self.output_dir) / self.name

    def model_dir(self, value: str) -> Path:
        """A model named in the config: `sft` is this run's supervised model, anything else a directory."""
        return self.run_dir / "sft" if value == "sft" else expand_path(value)

    @property
    def database_url(self) -> str:
        from rlhf.label_store import sqlite_url

        return self.labeling.database_url or sqlite_url(self.run_dir / "labels.db")

    @property
    def prompt_source(self) -> PromptSource:
        return self.prompts if self.prompts is not None else self.task.prompts


def _default_task() -> Task:
    from rlhf.tasks import load_task

    return load_task("sentiment")


def load_config(path: Optional[str] = None, overrides: list[tuple[str, object]] = ()) -> Config:
    """The checked config from an optional YAML file plus (dotted key, value) overrides."""
    data = read_yaml(path, allow_empty=False) if path else {}
    data.setdefault("task", "sentiment")
    for key, value in overrides:
        set_dotted(data, key, value)
    data["task"] = resolve_task_spec(data["task"])
    data["task"].pop("base", None)
    labeling = data.get("labeling")
    if isinstance(labeling, dict) and isinstance(labeling.get("database_url"), str):
        labeling["database_url"] = unmask_database_url(labeling["database_url"])
    return from_dict(Config, data)


def check_against_model(config: Config, model_config) -> None:
    """Problems only the model can reveal: queries plus responses longer than its context."""
    limit = context_length(model_config)
    total = config.task.query_length + config.task.response_length
    if limit is not None and total > limit:
        raise ConfigError(
            "task.response_length",
            f"query_length {config.task.query_length} + response_length {config.task.response_length} = {total} "
            f"tokens exceeds the model's context of {limit} tokens",
        )
    new_tokens = config.generation.max_new_tokens
    if limit is not None and new_tokens is not None and config.task.query_length + new_tokens > limit:
        raise ConfigError(
            "generation.max_new_tokens",
            f"query_length {config.task.query_length} + {new_tokens} new tokens exceeds the model's context of {limit} tokens",
        )


def config_yaml(config: Config) -> str:
    """The config as YAML, with the password of `labeling.database_url` masked (`user:***@host`).

    This text is what goes to the run directory (`config.yaml`), model cards and `rlhf config`; a
    command that reads such a copy back gets the real URL from RLHF_DATABASE_URL (`unmask_database_url`).
    """
    data = to_dict(config)
    if data.get("labeling", {}).get("database_url"):
        data["labeling"]["database_url"] = mask_url(data["labeling"]["database_url"])
    return dump_yaml(data)


# -- database credentials: never in the run directory, logs or error messages ---------------------

DATABASE_URL_ENV = "RLHF_DATABASE_URL"
MASK = "***"
# scheme://user:password@ : the password runs to the last "@" before the host (a password may hold "@").
_CREDENTIALS = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(?P<password>[^\s]*)(?P<tail>@[^@\s]*)")


def mask_url(url: str) -> str:
    """`url` with its password replaced by ***; a URL without a password is returned as it is."""
    return _CREDENTIALS.sub(lambda m: m["head"] + MASK + m["tail"], url)


def url_password(url: Optional[str]) -> Optional[str]:
    """The password in a database URL, else None."""
    match = _CREDENTIALS.search(url or "")
    return match["password"] if match and match["password"] and match["password"] != MASK else None


def redact(text: str, url: Optional[str]) -> str:
    """`text` (an error message, a log line) with the URL's password and any URL's credentials masked."""
    password = url_password(url)
    if password:
        text = text.replace(password, MASK)
        from urllib.parse import quote

        text = text.replace(quote(password, safe=""), MASK)
    return mask_url(text)


def unmask_database_url(url: str) -> str:
    """The real URL for one read from a masked copy: RLHF_DATABASE_URL, when it is that URL unmasked.

    A URL without a masked password is returned as it is. A masked one without a matching
    RLHF_DATABASE_URL is a ConfigError that says how to supply it.
    """
    if f":{MASK}@" not in url:
        return url
    real = os.environ.get(DATABASE_URL_ENV, "").strip()
    if real and mask_url(real) == url:
        return real
    why = f"{DATABASE_URL_ENV} names another database" if real else f"{DATABASE_URL_ENV} is not set"
    raise ConfigError("labeling.database_url",
                      f"the password of {url} is masked in this copy of the config and {why}; set "
                      f"{DATABASE_URL_ENV} to the full URL (with the password), or use the config you started the run with")
