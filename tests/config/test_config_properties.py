"""Property tests of the run config loader.

Any YAML mapping either loads into a `Config` or is refused with one `ConfigError` whose message
names the key - never another exception - and a loaded config written back as YAML
(`config_yaml`, what the run directory keeps) loads again to an equal config.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rlhf.config.loader import from_dict
from rlhf.config.prompt_source import PromptSource
from rlhf.config.run_config import Config, config_yaml, load_config
from rlhf.config.sections import EvaluationSettings, GenerationSettings, LabelingConfig, ModelConfig, PolicySettings, RewardSettings
from rlhf.config.task import Task, builtin_tasks
from rlhf.errors import ConfigError

# RLHF_HYPOTHESIS_EXAMPLES=2000 for a longer hunt; 50 keeps the suite quick.
SETTINGS = settings(max_examples=int(os.environ.get("RLHF_HYPOTHESIS_EXAMPLES", 50)), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SECTIONS = {"model": ModelConfig, "task": Task, "prompts": PromptSource, "generation": GenerationSettings,
            "labeling": LabelingConfig, "reward": RewardSettings, "policy": PolicySettings,
            "evaluation": EvaluationSettings}
TOP_KEYS = [f.name for f in dataclasses.fields(Config)]

# Strings that have tripped path and YAML handling: ~user homes that do not exist, NUL bytes,
# YAML's own words, line breaks, names of built-in things.
TRICKY = st.sampled_from(["", " ", "~/no-such-file-here.jsonl", "~nobody-at-all/x.jsonl", "a\x00b", "../x.jsonl", "stories", "documents",
                          "sentiment", "tldr", "runs", "x/y", ".", "null", "yes", "1e3", "caf\u00e9 \u4e2d",
                          "two\nlines\n", "  lead", "trail\n\n", "\u2028", "configs", "demo", "hub", "jsonl",
                          "{}", "{0}", "{text}", "{a.b}", "{x!z}", "{text:%}"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 100), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=8), TRICKY)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                      max_leaves=6)


def section(cls) -> st.SearchStrategy:
    names = [f.name for f in dataclasses.fields(cls)]
    return st.dictionaries(st.sampled_from(names + ["bogus", "Name", "base"]), VALUES, max_size=4)


ANY_CONFIG = st.fixed_dictionaries({}, optional={
    **{name: st.one_of(section(cls), VALUES) for name, cls in SECTIONS.items()},
    "task": st.one_of(st.sampled_from(sorted(builtin_tasks())), section(Task), VALUES),
    "name": VALUES, "output_dir": VALUES, "seed": VALUES, "bogus": VALUES,
})

# Mostly valid configs, for the round trip.
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
VALID_CONFIG = st.fixed_dictionaries({}, optional={
    "name": st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True),
    "output_dir": st.sampled_from(["runs", "out/runs", "~/runs"]),
    "seed": st.integers(0, 2**40),
    "task": st.one_of(st.sampled_from(sorted(builtin_tasks())),
                      st.fixed_dictionaries({"name": st.sampled_from(sorted(builtin_tasks()))}, optional={
                          "temperature": st.floats(0.01, 5), "query_length": st.integers(1, 512),
                          "instructions": TEXT, "truncate_token": st.one_of(st.none(), TEXT),
                          "kl_target": st.one_of(st.none(), st.floats(0.1, 20))})),
    "prompts": st.fixed_dictionaries({"kind": st.just("demo"), "path": st.sampled_from(["stories", "documents"])},
                                     optional={"eval_fraction": st.floats(0, 0.99), "fields": st.dictionaries(
                                         st.sampled_from(["text", "document"]), TEXT.filter(bool), max_size=2)}),
    "generation": st.fixed_dictionaries({}, optional={
        "temperature": st.one_of(st.none(), st.floats(0.01, 5)), "top_k": st.integers(0, 50),
        "top_p": st.floats(0.01, 1), "num_samples": st.integers(1, 8), "split": st.sampled_from(["train", "eval"]),
        "truncate": st.booleans(), "num_prompts": st.one_of(st.none(), st.integers(1, 100))}),
    "labeling": st.fixed_dictionaries({}, optional={
        "host": TEXT, "port": st.integers(1, 65535), "simulator": st.sampled_from([None, "sentiment", "rouge"]),
        "samples_per_query": st.integers(2, 6), "simulate_temperature": st.one_of(st.none(), st.floats(0, 2))}),
    "reward": st.fixed_dictionaries({}, optional={
        "loss": st.sampled_from(["best_of_n", "pairwise"]), "learning_rate": st.floats(1e-7, 1),
        "eval_fraction": st.floats(0.01, 0.99), "report_to": TEXT}),
    "policy": st.fixed_dictionaries({}, optional={
        "batch_size": st.sampled_from([4, 8, 16]), "mini_batches": st.sampled_from([1, 2, 4]),
        "value_head": st.sampled_from(["shared", "separate"]), "lora_r": st.integers(0, 16),
        "lora_target_modules": TEXT, "bf16": st.sampled_from([None, True, False])}),
    "evaluation": st.fixed_dictionaries({}, optional={
        "num_queries": st.one_of(st.none(), st.integers(1, 100)),
        "judges": st.lists(st.sampled_from(["simulated", "reward_model"]), max_size=2)}),
})


def load_from_yaml(data: dict) -> Config:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return load_config(str(path))


def load_text(text: str) -> Config:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "resolved.yaml"
        path.write_text(text, encoding="utf-8")
        return load_config(str(path))


def assert_names_a_key(exc: ConfigError, data: dict) -> None:
    """The message names a key of the config (or of the input, for an unknown one), or the file itself."""
    assert exc.key, f"a refusal without a key: {exc}"
    top = exc.key.split(".")[0].split("[")[0]
    assert top in TOP_KEYS or top in map(str, data) or top == "config", f"{exc.key!r} is not a config key: {exc}"
    assert f"'{exc.key}'" in str(exc)


# Inputs that once escaped as other exceptions (ZeroDivisionError, RuntimeError, TypeError).
KNOWN_CRASHERS = [
    {"policy": {"mini_batches": 0}},
    {"reward": {"labels": "~nobody-at-all/labels.jsonl"}},
    {"prompts": {"kind": "text", "path": "~nobody-at-all/book.txt"}},
    {"task": {"name": "sentiment", "prompts": "stories"}},
    {"task": {"name": "mine", "base": 5}},
    {"task": {"name": "sentiment", "query_template": "{0}"}},
    {"output_dir": "~nobody-at-all", "evaluation": {"systems": {"old": "~nobody-at-all/model"}}},
]


def with_known_crashers(test):
    for data in KNOWN_CRASHERS:
        test = example(data)(test)
    return test


@SETTINGS
@given(ANY_CONFIG)
@with_known_crashers
def test_any_yaml_mapping_loads_or_is_one_config_error_naming_the_key(data):
    try:
        config = load_from_yaml(data)
    except ConfigError as exc:
        assert_names_a_key(exc, data)
        return
    assert isinstance(config, Config)
    assert load_text(config_yaml(config)) == config


@SETTINGS
@given(ANY_CONFIG)
@with_known_crashers
def test_from_dict_takes_any_mapping_or_names_the_key(data):
    try:
        config = from_dict(Config, data)
    except ConfigError as exc:
        assert_names_a_key(exc, data)
        return
    assert isinstance(config, Config)


@SETTINGS
@given(VALID_CONFIG)
def test_a_loaded_config_written_back_loads_to_an_equal_config(data):
    try:
        config = load_from_yaml(data)
    except ConfigError as exc:  # a combination the checks refuse (a task's field the demo set lacks, ...)
        assert_names_a_key(exc, data)
        return
    text = config_yaml(config)
    again = load_text(text)
    assert again == config
    assert config_yaml(again) == text
