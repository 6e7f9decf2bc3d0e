"""The run config: one YAML file per experiment, every field typed and documented.

`load_config(path, overrides)` reads YAML, applies `key=value` overrides (dotted keys for nested
sections), resolves the task (a built-in name, a YAML path, or an inline mapping) and checks
everything, raising one `ConfigError` naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from rlhf.config.loader import dump_yaml, expand_path, from_dict, option, read_yaml, set_dotted, to_dict
from rlhf.config.prompt_source import PromptSource
from rlhf.config.secrets import mask_url, unmask_database_url
from rlhf.config.sections import EvaluationSettings, GenerationSettings, LabelingConfig, ModelConfig, PolicySettings, RewardSettings, SftSettings
from rlhf.config.task import Task, resolve_task_spec
from rlhf.run.files import check_writable, write_text
from rlhf.run.layout import RunLayout, sqlite_url


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

    @property
    def layout(self) -> RunLayout:
        return RunLayout(self.run_dir)

    def model_dir(self, value: str) -> Path:
        """A model named in the config: `sft` is this run's supervised model, anything else a directory."""
        return self.layout.sft if value == "sft" else expand_path(value)

    @property
    def database_url(self) -> str:
        return self.labeling.database_url or sqlite_url(self.layout.label_store)

    def has_label_store(self) -> bool:
        """Whether the run's labels exist yet: a configured database, or the run's SQLite file."""
        return bool(self.labeling.database_url) or self.layout.has_label_store()

    @property
    def reward_model_dir(self) -> Path:
        """The reward model PPO trains against: policy.reward_model, else the run's own."""
        return expand_path(self.policy.reward_model) if self.policy.reward_model else self.layout.reward_model

    @property
    def prompt_source(self) -> PromptSource:
        return self.prompts if self.prompts is not None else self.task.prompts


def _default_task() -> Task:
    from rlhf.config.task import load_task

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


def config_yaml(config: Config) -> str:
    """The config as YAML, with the password of `labeling.database_url` masked (`user:***@host`).

    This text is what goes to the run directory (`config.yaml`), model cards and `rlhf config`; a
    command that reads such a copy back gets the real URL from RLHF_DATABASE_URL (`unmask_database_url`).
    """
    data = to_dict(config)
    if data.get("labeling", {}).get("database_url"):
        data["labeling"]["database_url"] = mask_url(data["labeling"]["database_url"])
    return dump_yaml(data)


def write_run_config(config: Config) -> Path:
    """The resolved config, exactly as run (password masked), at runs/<name>/config.yaml."""
    return write_text(config.layout.config, config_yaml(config))


def check_run_dir(config: Config) -> Path:
    """The run directory, refused before any model loads when it could not be written."""
    return check_writable(config.run_dir, "run directory", folder=True,
                          fix="set output_dir (--output_dir DIR) to a folder you can write, or choose another run name")
