import json

import pytest
import yaml
from conftest import write


def tiny_config(tmp_path, model_dir, extra=""):
    return write(tmp_path / "c.yaml", f"""
name: smoke
output_dir: {tmp_path / 'runs'}
model: {{name: {model_dir}}}
task: {{name: sentiment, query_length: 200}}  # the tiny tokenizer needs more tokens per story
prompts: {{kind: demo, path: stories}}
generation: {{num_prompts: 3, num_samples: 2, max_new_tokens: 8}}
{extra}""")


def test_generate_a_prompt_prints_the_continuation(cli, tiny_gpt2):
    code, out, err = cli("generate", "--model", tiny_gpt2, "--prompt", "It was a bright cold day", "--max-new-tokens", "6")
    assert code == 0 and out.startswith("It was a bright cold day") and len(out.strip()) > len("It was a bright cold day")


def test_generate_with_a_config_writes_the_run_directory(cli, tmp_path, tiny_llama):
    code, out, err = cli("generate", "--config", tiny_config(tmp_path, tiny_llama), "--generation.temperature", "0.9", "--quiet")
    assert code == 0 and out == ""
    run = tmp_path / "runs" / "smoke"
    resolved = yaml.safe_load((run / "config.yaml").read_text())
    assert resolved["generation"]["temperature"] == 0.9 and resolved["task"]["query_length"] == 200
    rows = [json.loads(line) for line in (run / "generations.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all(len(r["samples"]) == 2 for r in rows)
    assert rows[0]["settings"]["temperature"] == 0.9 and rows[0]["settings"]["truncate_token"] == "."
    assert "demo:stories" in err and "using 3 from the eval split" in err


@pytest.mark.parametrize("args, needle", [
    (["--generation.temprature", "1"], "did you mean 'temperature'"),
    (["--generation.batch_size", "-4"], "config key 'generation.batch_size': must be positive"),
    (["--task.response_length", "2000"], "exceeds the model's context of 1024"),
    (["--prompts.path", "nowhere.jsonl", "--prompts.kind", "jsonl"], "config key 'prompts.path': no such file"),
    (["--task", "poetry"], "unknown task 'poetry'"),
    (["stray"], "unexpected argument 'stray'"),
])
def test_bad_configs_exit_2_with_one_line_and_write_nothing(cli, tmp_path, tiny_gpt2, args, needle):
    code, out, err = cli("generate", "--config", tiny_config(tmp_path, tiny_gpt2), *args)
    assert code == 2 and needle in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_a_broken_yaml_file_exits_2(cli, tmp_path):
    code, _, err = cli("generate", "--config", write(tmp_path / "bad.yaml", "model: [\n"))
    assert code == 2 and "not valid YAML at line" in err


def test_gpt2_without_the_hub_is_one_line_naming_the_offline_default(cli, monkeypatch):
    import rlhf.models.loading

    monkeypatch.setattr(rlhf.models.loading, "use_offline_mode_if_unreachable", _offline)
    code, out, err = cli("generate", "--model", "gpt2", "--prompt", "Hello")
    assert code == 3 and err.startswith("error: cannot load 'gpt2'") and "smollm2-135m" in err
    assert err.count("\n") == 1


def _offline():
    import huggingface_hub.constants

    huggingface_hub.constants.HF_HUB_OFFLINE = True
    return False


def test_models_list_and_unknown_pull(cli, tmp_path):
    code, out, _ = cli("models", "list", "--cache-dir", tmp_path)
    assert code == 0 and "smollm2-135m" in out and "rlhf models pull" in out
    code, _, err = cli("models", "pull", "llama-70b", "--cache-dir", tmp_path)
    assert code == 3 and "unknown model alias 'llama-70b'" in err


def test_tasks_lists_and_shows(cli):
    code, out, _ = cli("tasks")
    assert code == 0 and all(name in out for name in ("sentiment", "descriptiveness", "tldr", "cnndm"))
    code, out, _ = cli("tasks", "cnndm")
    assert code == 0 and yaml.safe_load(out)["kl_coef"] == 0.01


def test_config_prints_the_resolved_config(cli):
    code, out, _ = cli("config", "--task", "tldr", "--seed", "7")
    data = yaml.safe_load(out)
    assert code == 0 and data["seed"] == 7 and data["task"]["response_length"] == 75
