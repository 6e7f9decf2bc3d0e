"""The sections of a run config that belong to no one stage's package: generation, labeling, sft, reward, policy, evaluation, model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from rlhf.config.loader import expand_path, option
from rlhf.config.training import TrainingOptions
from rlhf.run.layout import is_model_dir

# The offline default (rlhf.models.offline): GPT-2 cannot be had on machines without the hub.
DEFAULT_MODEL = "smollm2-135m"
RESERVED_SYSTEMS = ("zero-shot", "policy", "reference", "lead-3")


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
    bf16: Optional[bool] = option(None, help="Sample under bfloat16 autocast (label batches, `rlhf generate`); unset (auto): "
                                             "where the device has bf16 and a forward pass measured clearly faster in it.")

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
    count_machine_labelers: bool = option(
        False, help="Imported and simulated labelers take places of labelers_per_batch beside people, and count in the "
                    "dashboard's agreement by default; off: people and machines each get labelers_per_batch places."
    )
    host: str = option("127.0.0.1", help="Address the labeling app listens on (loopback by default).")
    port: int = option(8501, help="Port of the labeling app.")
    min_seconds: float = option(
        1.0, help="Least reading time: a choice less than this many seconds after its item appeared (the second click "
                  "of a double click, a click meant for the item before) is ignored by the app and refused by the store."
    )
    session_minutes: int = option(480, help="A sign-in in the labeling app lasts this long, then the labeler signs in again.")
    idle_minutes: int = option(60, help="A labeling app session unused this long is signed out.")
    simulator: Optional[str] = option(
        None, help="`rlhf run` labels with this simulated labeler (sentiment, descriptiveness, rouge); unset: humans in the browser."
    )
    simulate_temperature: Optional[float] = option(
        None, help="Boltzmann temperature of simulated labelers (0: always the best); unset: each kind's default, set near human agreement."
    )
    gold_rate: float = option(
        0.0, help="Share of the items handed out that are gold questions (batches with a known best, `rlhf gold add`), "
                  "drawn at random per item and shown like any other; 0: gold batches are not handed out."
    )
    gold_min_accuracy: float = option(0.5, help="The dashboard flags a labeler whose gold accuracy is below this (chance is 1/samples_per_query).")
    gold_min_items: int = option(5, help="Gold answers a labeler needs before the dashboard may flag them.")

    def problems(self):
        for name in ("num_queries", "labelers_per_batch"):
            if getattr(self, name) <= 0:
                yield name, f"must be positive, got {getattr(self, name)}"
        if self.samples_per_query < 2:
            yield "samples_per_query", f"must be at least 2, got {self.samples_per_query}"
        if self.min_seconds < 0:
            yield "min_seconds", f"must be 0 (off) or positive, got {self.min_seconds}"
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
        yield from gold_problems(self, "gold_min_accuracy", "gold_min_items")
        if not 0 <= self.gold_rate < 1:
            yield "gold_rate", f"must be in [0, 1) (a share of the items handed out), got {self.gold_rate}"


def gold_problems(settings, accuracy: str, items: str):
    """(key, problem) for a gold accuracy threshold outside [0, 1] and a minimum count below 1."""
    value = getattr(settings, accuracy)
    if value is not None and not 0 <= value <= 1:
        yield accuracy, f"must be in [0, 1] (a share of gold answers), got {value}"
    if getattr(settings, items) < 1:
        yield items, f"must be at least 1, got {getattr(settings, items)}"


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
    cut_long_references: bool = option(
        False, help="Summaries: train even when most reference summaries are longer than task.response_length, each cut "
                    "to it (the model then learns summaries that rarely end); off: that is refused. A few long ones are always cut."
    )
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
    group_by_length: bool = option(
        False, help="With train_backbone: true, batches of labels of about the same length (transformers' LengthGroupedSampler): "
                    "documents of very different lengths are not padded to the longest in a random batch, but batches are "
                    "less random. The frozen-backbone fit orders its feature passes by length always (it changes nothing there)."
    )
    head_l2: float = option(1.0, help="With train_backbone: false, the L2 penalty on the head's weights (on standardised features).")
    exclude_labelers: list[str] = option(
        factory=list, help="Labelers whose labels the reward model does not train on (names; e.g. one the "
                                   "dashboard shows clicking at random). Training says how many labels that removed."
    )
    min_gold_accuracy: Optional[float] = option(
        None, help="Leave out the labels of labelers whose gold accuracy (the dashboard's) is below this on at least "
                   "min_gold_items gold questions; unset: nobody is left out for it. Needs the label store."
    )
    min_gold_items: int = option(5, help="Gold answers a labeler needs before min_gold_accuracy may leave them out.")
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
        yield from gold_problems(self, "min_gold_accuracy", "min_gold_items")
        if self.min_gold_accuracy is not None and self.labels is not None:
            yield "min_gold_accuracy", "gold accuracy comes from the label store, and reward.labels trains from a file: unset one of them"


@dataclass
class PolicySettings(TrainingOptions):
    reward_model: Optional[str] = option(None, help="Reward model directory; unset: the run's reward_model.")
    reward: Literal["model", "simulated"] = option(
        "model", help="PPO's reward: model (the reward model) or simulated (the task's simulated labeler itself: what a perfect reward model would give)."
    )
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
        if self.reward_model is not None and not is_model_dir(expand_path(self.reward_model)):
            yield "reward_model", f"{self.reward_model} holds no reward model (no config.json); train one with `rlhf train-reward`"
        if self.also_from_base and self.init_from is None:
            yield "also_from_base", "needs policy.init_from (the policy trained from it is then the supervised + RL one)"
        if self.init_from not in (None, "sft") and not is_model_dir(expand_path(self.init_from)):
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
    against: list[str] = option(
        factory=list, help="Systems every other system is also compared with, besides zero-shot (e.g. supervised: the paper's RL vs supervised)."
    )
    reuse_samples_from: list[str] = option(
        factory=list, help="Earlier run directories whose evaluation samples are reused for a system drawn the same way "
                           "(same model files, queries and sampling settings); --rounds sets it to the earlier rounds."
    )
    human_pairs: int = option(1, help="`rlhf evaluate --human`: pairs per query and system queued for the browser's Compare page.")
    batch_size: int = option(16, help="Queries per generation and scoring batch.")
    bf16: Optional[bool] = option(None, help="Sample under bfloat16 autocast; unset (auto): where the device has bf16 and "
                                             "a forward pass measured clearly faster in it.")

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
            elif path != "sft" and not is_model_dir(expand_path(path)):
                yield f"systems.{name}", f"{path} holds no model (no config.json)"


@dataclass
class ModelConfig:
    name: str = option(DEFAULT_MODEL, help="Model: an alias (smollm2-135m), a local directory, or a hub name (gpt2).")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = option(
        "auto", help="Weights dtype; auto: bfloat16 on a GPU that supports it, float32 on the CPU."
    )
    device: str = option("auto", help="Device: auto (cuda when available, else cpu), cpu, cuda, cuda:1, mps.")
    cache_dir: Optional[str] = option(None, help="Cache of pulled models; default $RLHF_CACHE or ~/.cache/rlhf.")
    revision: Optional[str] = option(None, help="Hub revision (branch, tag or commit) for hub names.")
