"""The `task` section: how a query is formatted, how long queries and responses are, how responses are cut.

Built-in tasks are YAML files in `rlhf/config/builtin_tasks/`; a user's own task is the same kind of YAML
(a file path, or a mapping inline in the run config), optionally inheriting from another with
`base:`. The truncation rule is the paper's: a response is cut after the first truncation token at
or after position `truncate_after`; a response without one gets `penalty_reward`.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal, Optional

from rlhf.config.loader import expand_path, from_dict, option, read_yaml
from rlhf.config.prompt_source import PromptSource
from rlhf.errors import ConfigError

BUILTIN_DIR = Path(__file__).parent / "builtin_tasks"


@dataclass
class Task:
    name: str = option(help="Task name, used in run names and reports.")
    description: str = option("", help="One line on what the task asks of the model.")
    instructions: str = option("", help="What a labeler reads before choosing the best continuation.")
    query_template: str = option("{text}", help="Python format string building the query from a prompt record's fields.")
    truncate_field: Optional[str] = option(
        None, help="Field shortened (from its end) when a query is longer than query_length; unset: such prompts are skipped."
    )
    truncate_field_at: Literal["token", "boundary"] = option(
        "token", help="Where a too-long truncate_field is cut: 'token' keeps as many tokens as fit (the paper's "
                      "excerpts); 'boundary' then goes back to the last whole turn of a dialogue or sentence of a document."
    )
    chat_template: bool = option(
        False, help="Wrap each query in the model's chat template as one user message, ending with the assistant's "
                    "turn (instruct models); off: raw text, as the paper's GPT-2 had no template."
    )
    query_length: int = option(64, help="Query length in tokens (the chat template's included); shorter queries are left-padded.")
    response_length: int = option(24, help="Number of response tokens sampled.")
    temperature: float = option(0.7, help="Sampling temperature; logits are also divided by it when scoring.")
    top_k: int = option(0, help="Sample from the k most likely tokens only; 0 disables.")
    top_p: float = option(1.0, help="Nucleus sampling probability mass; 1.0 disables.")
    truncate_token: Optional[str] = option(".", help="Text whose token ends a response; unset: responses are not cut.")
    truncate_after: int = option(16, help="The truncation token counts only at this response position or later (0-based).")
    penalty_reward: Optional[float] = option(
        -1.0, help="Reward given to a response without a truncation token (the paper: -1); null: such responses are scored as they are."
    )
    kl_coef: float = option(0.15, help="KL penalty coefficient beta (its starting value when adaptive).")
    kl_target: Optional[float] = option(6.0, help="Adaptive KL target in nats per response; unset: fixed beta.")
    kl_horizon: int = option(10000, help="Adaptive KL controller horizon, in episodes.")
    labeler: Optional[str] = option(None, help="Simulated labeler for this task (sentiment, descriptiveness, rouge).")
    reference_field: Optional[str] = option(None, help="Prompt field holding a reference output (summaries).")
    prompts: PromptSource = option(factory=PromptSource, help="Default prompt source of the task.")
    # A task YAML may also say `base: NAME_OR_PATH` to inherit the fields it does not set.

    def problems(self):
        if self.query_length <= 0:
            yield "query_length", f"must be positive, got {self.query_length}"
        if self.response_length <= 0:
            yield "response_length", f"must be positive, got {self.response_length}"
        if self.temperature <= 0:
            yield "temperature", f"must be positive, got {self.temperature}"
        if self.top_k < 0:
            yield "top_k", f"must be 0 (off) or positive, got {self.top_k}"
        if not 0 < self.top_p <= 1:
            yield "top_p", f"must be in (0, 1], got {self.top_p}"
        if self.truncate_token is not None and not 0 <= self.truncate_after < self.response_length:
            yield "truncate_after", (f"must be in [0, response_length={self.response_length}), got {self.truncate_after}: "
                                     "set task.truncate_after below task.response_length (a response is cut at "
                                     "the truncation token only from that position on), or leave it unset to scale "
                                     "the base task's with the response length")
        if self.kl_coef < 0:
            yield "kl_coef", f"must be 0 or positive, got {self.kl_coef}"
        if self.kl_target is not None and self.kl_target <= 0:
            yield "kl_target", f"must be positive (or unset for a fixed beta), got {self.kl_target}"
        fields = template_fields(self.query_template)
        if fields is None or not _formats(self.query_template, fields):
            yield "query_template", (f"is not a valid format string with named fields such as {{text}}: "
                                     f"{self.query_template!r}")
        elif self.truncate_field is not None and self.truncate_field not in fields:
            yield "truncate_field", f"'{self.truncate_field}' does not appear in query_template {self.query_template!r}"

    @property
    def fields(self) -> list[str]:
        """The prompt-record fields the query template reads."""
        return template_fields(self.query_template) or []

    def format_query(self, record: dict) -> str:
        return self.query_template.format(**{f: record[f] for f in self.fields})


def _formats(template: str, fields: list[str]) -> bool:
    """Whether the template formats with its named fields alone (no `{}`, `{0}`, `{a.b}` or bad specs)."""
    try:
        template.format(**{name: "x" for name in fields})
        return True
    except (IndexError, KeyError, ValueError, AttributeError, TypeError):
        return False


def template_fields(template: str) -> Optional[list[str]]:
    try:
        return [name for _, name, _, _ in string.Formatter().parse(template) if name]
    except ValueError:
        return None


def builtin_tasks() -> dict[str, Path]:
    return {p.stem: p for p in sorted(BUILTIN_DIR.glob("*.yaml"))}


def _task_spec(ref: str, key: str, seen: tuple = ()) -> dict:
    """The raw mapping of a task named by a built-in name or a YAML path, with its `base` chain merged."""
    builtins = builtin_tasks()
    if ref in builtins:
        path = builtins[ref]
    elif expand_path(ref).is_file():
        path = expand_path(ref)
    elif Path(ref).suffix.lower() in (".yaml", ".yml") or "/" in ref:
        raise ConfigError(key, f"no such task file: {ref}; give the path of a task YAML file or one of {', '.join(builtins)}")
    else:
        raise ConfigError(key, f"unknown task '{ref}': use one of {', '.join(builtins)} or the path of a task YAML file")
    if str(path) in seen:
        raise ConfigError(key, f"task '{ref}' inherits from itself through 'base'")
    return _merge_base(read_yaml(path), key, seen + (str(path),))


def _merge_base(spec: dict, key: str, seen: tuple = ()) -> dict:
    base = spec.get("base")
    if not base:
        return dict(spec)
    if not isinstance(base, str):
        raise ConfigError(f"{key}.base", f"expected a task name or a task YAML path, got {base!r}")
    merged = _task_spec(base, f"{key}.base", seen)
    if "response_length" in spec and "truncate_after" not in spec:
        merged["truncate_after"] = _scaled_cut(merged, spec["response_length"])
    merged.update({k: v for k, v in spec.items() if k != "prompts"})
    if "prompts" in spec:
        if not isinstance(spec["prompts"] or {}, dict):
            raise ConfigError(f"{key}.prompts", f"expected a mapping of settings, got {spec['prompts']!r}")
        inherited = merged.get("prompts")
        merged["prompts"] = {**(inherited if isinstance(inherited, dict) else {}), **(spec["prompts"] or {})}
    return merged


def _scaled_cut(base: dict, response_length) -> object:
    """The base task's `truncate_after` moved with a new `response_length`, in proportion.

    The cut position is a minimum length relative to the response (the paper: 16 of 24 tokens,
    55 of 75), so shortening the response alone keeps the rule's meaning instead of making it
    impossible. A value that is not a positive integer is left for validation to name.
    """
    defaults = {f.name: f.default for f in fields(Task)}
    after = base.get("truncate_after", defaults["truncate_after"])
    length = base.get("response_length", defaults["response_length"])
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (response_length, length)) \
            or not isinstance(after, int):
        return after
    return min(response_length - 1, round(after * response_length / length))


def resolve_task_spec(raw, key: str = "task") -> dict:
    """A `task:` value (a name, a path, or a mapping) as a complete mapping ready for `Task`.

    A mapping whose `name` is a built-in task refines that task, so `task: {name: sentiment,
    temperature: 1.0}` changes one setting; any other mapping defines a new task, with `base:`
    to inherit.
    """
    if isinstance(raw, str):
        return _task_spec(raw, key)
    if not isinstance(raw, dict):
        raise ConfigError(key, f"expected a task name, a task YAML path or a mapping, got {raw!r}")
    spec = dict(raw)
    name = spec.get("name")
    if not spec.get("base") and isinstance(name, str):
        if name in builtin_tasks():
            spec["base"] = name
        elif expand_path(name).is_file():
            # `task: my_task.yaml` plus `--task.temperature 1.0` refines that file's task.
            spec["base"] = spec.pop("name")
    return _merge_base(spec, key)


def load_task(raw, key: str = "task") -> Task:
    spec = resolve_task_spec(raw, key)
    spec.pop("base", None)
    return from_dict(Task, spec, key)
