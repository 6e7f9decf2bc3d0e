import pytest
import yaml
from conftest import write

from rlhf.config.loader import to_dict
from rlhf.config.run_config import config_yaml, load_config
from rlhf.errors import ConfigError
from rlhf.models.loading import check_against_model


def test_defaults_resolve_the_sentiment_task():
    cfg = load_config()
    assert cfg.task.name == "sentiment" and cfg.task.query_length == 64 and cfg.model.name == "smollm2-135m"


def test_yaml_file_then_overrides(tmp_path):
    path = write(tmp_path / "c.yaml", "name: exp1\ntask: descriptiveness\ngeneration:\n  num_samples: 4\n")
    cfg = load_config(str(path), [("generation.num_samples", 2), ("task.temperature", 1.0)])
    assert cfg.name == "exp1" and cfg.generation.num_samples == 2
    assert cfg.task.name == "descriptiveness" and cfg.task.temperature == 1.0 and cfg.task.truncate_token == "."


def test_resolved_config_round_trips_through_yaml(tmp_path):
    cfg = load_config(None, [("task", "cnndm"), ("prompts.kind", "demo"), ("prompts.path", "documents")])
    text = config_yaml(cfg)
    assert yaml.safe_load(text) == to_dict(cfg)
    again = load_config(str(write(tmp_path / "resolved.yaml", text)))
    assert to_dict(again) == to_dict(cfg)


@pytest.mark.parametrize(
    "overrides, key",
    [([("generation.batch_size", -1)], "generation.batch_size"),
     ([("generation.temperature", 0)], "generation.temperature"),
     ([("task.response_length", 0)], "task.response_length"),
     ([("task.truncate_after", 30)], "task.truncate_after"),
     ([("genaration.batch_size", 1)], "genaration"),
     ([("model.dtype", "float8")], "model.dtype"),
     ([("task", "no-such-task")], "task"),
     ([("prompts.kind", "jsonl"), ("prompts.path", "missing.jsonl")], "prompts.path"),
     ([("prompts.kind", "demo"), ("prompts.path", "novels")], "prompts.path"),
     ([("name", "a/b")], "name"),
     ([("task.query_template", "{unclosed")], "task.query_template")],
)
def test_impossible_values_name_their_key(overrides, key):
    with pytest.raises(ConfigError) as info:
        load_config(None, overrides)
    assert info.value.key == key and info.value.exit_code == 2


def test_response_longer_than_the_model_context_is_a_config_error():
    from transformers import GPT2Config

    cfg = load_config(None, [("task", "cnndm")])
    with pytest.raises(ConfigError) as info:
        check_against_model(cfg, GPT2Config(n_positions=512))
    assert info.value.key == "task.response_length" and "575 tokens exceeds the model's context of 512" in str(info.value)
    check_against_model(cfg, GPT2Config(n_positions=1024))
