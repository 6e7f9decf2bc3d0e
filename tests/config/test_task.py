import pytest
import torch
from conftest import write

from rlhf.config.task import builtin_tasks, load_task
from rlhf.errors import ConfigError
from rlhf.tasks.truncation import truncate_responses, truncation_token_ids

PAD = 0
STOP = 9


def test_builtin_tasks_carry_the_paper_settings():
    assert set(builtin_tasks()) == {"sentiment", "descriptiveness", "tldr", "cnndm"}
    s, d, t, c = (load_task(n) for n in ("sentiment", "descriptiveness", "tldr", "cnndm"))
    for task in (s, d):
        assert (task.query_length, task.response_length, task.temperature) == (64, 24, 0.7)
        assert (task.truncate_token, task.truncate_after, task.penalty_reward) == (".", 16, -1.0)
        assert (task.kl_coef, task.kl_target, task.kl_horizon) == (0.15, 6.0, 10000)
    assert d.labeler == "descriptiveness" and "VIVIDLY" in d.instructions
    for task in (t, c):
        assert (task.query_length, task.response_length) == (500, 75)
        assert (task.truncate_token, task.truncate_after, task.kl_target) == ("\n", 55, None)
        assert task.query_template.endswith("\n\nTL;DR:") and task.truncate_field == "document"
    assert (t.temperature, t.kl_coef, c.temperature, c.kl_coef) == (0.7, 0.03, 0.5, 0.01)
    assert c.query_template.startswith("Article:\n\n") and c.prompts.fields["reference"] == "highlights"


def test_a_new_task_defined_entirely_in_yaml(tmp_path):
    path = write(tmp_path / "reply.yaml", """
name: dialogue-reply
description: Write the next turn of a dialogue.
instructions: Pick the reply that is most helpful and polite.
query_template: "{dialogue}\\n#Person2#:"
truncate_field: dialogue
query_length: 200
response_length: 40
temperature: 0.8
truncate_token: "\\n"
truncate_after: 10
kl_coef: 0.05
kl_target: null
prompts: {kind: jsonl, path: dialogs.jsonl, fields: {dialogue: dialogue}}
""")
    write(tmp_path / "dialogs.jsonl", '{"dialogue": "#Person1#: Hello."}\n')
    task = load_task(str(path))
    assert task.name == "dialogue-reply" and task.fields == ["dialogue"] and task.kl_target is None
    assert task.format_query({"dialogue": "Hi.", "extra": 1}) == "Hi.\n#Person2#:"
    assert task.prompts.fields == {"dialogue": "dialogue"}


def test_a_task_inherits_from_base_and_overrides_single_fields(tmp_path):
    path = write(tmp_path / "calm.yaml", "base: sentiment\nname: calm\ntemperature: 0.9\n")
    task = load_task(str(path))
    assert (task.name, task.temperature, task.query_length, task.kl_target) == ("calm", 0.9, 64, 6.0)
    assert load_task({"name": "tldr", "temperature": 0.3}).truncate_after == 55


@pytest.mark.parametrize("task, length, after", [("tldr", 48, 35), ("tldr", 20, 15), ("sentiment", 48, 32), ("sentiment", 2, 1)])
def test_changing_the_response_length_alone_moves_the_cut_with_it(task, length, after):
    assert load_task({"name": task, "response_length": length}).truncate_after == after


def test_a_cut_set_beside_the_response_length_is_kept_and_a_wrong_one_names_both_keys(tmp_path):
    assert load_task({"name": "tldr", "response_length": 48, "truncate_after": 5}).truncate_after == 5
    path = write(tmp_path / "short.yaml", "base: tldr\nname: short\nresponse_length: 30\n")
    assert load_task(str(path)).truncate_after == 22  # a file's base chain scales the same way
    with pytest.raises(ConfigError, match="task.truncate_after.*got 55.*below task.response_length"):
        load_task({"name": "tldr", "response_length": 48, "truncate_after": 55})


@pytest.mark.parametrize("spec, key", [({"name": "x", "query_length": -5}, "task.query_length"),
                                       ({"name": "x", "query_template": "{a}", "truncate_field": "b"}, "task.truncate_field"),
                                       ({"name": "x", "top_p": 0}, "task.top_p"),
                                       ({"name": "x", "bogus": 1}, "task.bogus"),
                                       ({"base": "nope"}, "task.base")])
def test_broken_task_specs_name_the_key(spec, key):
    with pytest.raises(ConfigError) as info:
        load_task(spec)
    assert info.value.key == key


def test_self_inheriting_task_is_refused(tmp_path):
    path = tmp_path / "loop.yaml"
    write(path, f"base: {path}\nname: loop\n")
    with pytest.raises(ConfigError, match="inherits from itself"):
        load_task(str(path))


def test_truncation_cuts_after_the_first_stop_at_or_after_position():
    responses = torch.tensor([
        [5, STOP, 5, 5, STOP, 5, 5],   # stop at 1 is too early; cut after position 4
        [5, 5, 5, STOP, 5, STOP, 5],   # first stop at >= 3 is position 3
        [5, 5, 5, 5, 5, 5, 5],         # no stop: marked for the penalty
        [STOP, 5, 5, 5, 5, 5, STOP],   # stop only at the last position
    ])
    cut, found = truncate_responses(responses, [STOP], truncate_after=3, pad_id=PAD)
    assert cut.tolist() == [
        [5, STOP, 5, 5, STOP, PAD, PAD],
        [5, 5, 5, STOP, PAD, PAD, PAD],
        [5, 5, 5, 5, 5, 5, 5],
        [STOP, 5, 5, 5, 5, 5, STOP],
    ]
    assert found.tolist() == [True, True, False, True]


def test_several_stop_ids_and_no_rule():
    responses = torch.tensor([[5, 7, 5, 9, 5]])
    cut, found = truncate_responses(responses, [7, 9], truncate_after=0, pad_id=PAD)
    assert cut.tolist() == [[5, 7, PAD, PAD, PAD]] and found.tolist() == [True]
    same, found = truncate_responses(responses, [], truncate_after=0, pad_id=PAD)
    assert torch.equal(same, responses) and found.tolist() == [True]


def test_stop_ids_are_tokens_containing_the_text(tiny_gpt2):
    from rlhf.models.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(str(tiny_gpt2))
    ids = truncation_token_ids(tokenizer, ".")
    assert tokenizer.convert_tokens_to_ids(".") in ids
    assert all("." in tokenizer.decode([i]) for i in ids)
    assert tokenizer.pad_token_id not in ids and truncation_token_ids(tokenizer, None) == []


def test_a_task_file_refined_by_an_override_keeps_the_file_settings(tmp_path):
    from rlhf.config.run_config import load_config

    path = write(tmp_path / "reply.yaml", "name: reply\nquery_template: 'Q: {text}'\nquery_length: 100\nresponse_length: 30\n")
    cfg = load_config(None, [("task", str(path)), ("task.temperature", 1.0)])
    assert (cfg.task.name, cfg.task.query_template, cfg.task.query_length, cfg.task.temperature) == ("reply", "Q: {text}", 100, 1.0)
