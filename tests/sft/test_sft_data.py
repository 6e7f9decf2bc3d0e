"""Supervised examples: summaries mask everything but the summary; continuations are plain text."""

import json

import pytest

from rlhf.config.run_config import load_config
from rlhf.errors import DataError
from rlhf.models.tokenizer import load_tokenizer
from rlhf.sft.data import sft_dataset


def config_for(tmp_path, model_dir, *extra):
    return load_config(None, [("model.name", str(model_dir)), ("output_dir", str(tmp_path)), *extra])


def test_a_summary_example_is_the_query_then_the_reference_and_only_the_reference_is_trained(tmp_path, tiny_gpt2):
    config = config_for(tmp_path, tiny_gpt2, ("task", "tldr"), ("prompts.kind", "demo"), ("prompts.path", "documents"),
                        ("task.query_length", 300), ("task.response_length", 400))
    tokenizer = load_tokenizer(str(tiny_gpt2))
    from rlhf.tasks.queries import queries_for

    query = queries_for(config, tokenizer, "train", log=lambda m: None)[0]
    example = sft_dataset(config, tokenizer, "train")[0]
    n = len(query.input_ids)
    assert example["input_ids"][:n] == query.input_ids
    assert example["completion_mask"] == [0] * n + [1] * (len(example["input_ids"]) - n)
    target = tokenizer.decode(example["input_ids"][n:])
    assert target == " " + " ".join(query.reference.split()) + "\n"  # one line, ended by the task's newline


def references(tmp_path, *summaries):
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "document": f"Text {i}.", "reference": summary}) + "\n"
                            for i, summary in enumerate(summaries)))
    return path


def test_a_few_long_references_are_cut_to_the_response_length_and_counted(tmp_path, tiny_gpt2):
    docs = references(tmp_path, *["Short."] * 8, "A summary that runs on " * 6, "A summary that runs on " * 6)
    config = config_for(tmp_path, tiny_gpt2, ("task", "tldr"), ("prompts.path", str(docs)), ("prompts.eval_fraction", 0.01),
                        ("task.query_length", 300), ("task.response_length", 8), ("task.truncate_after", 2))
    logged = []
    data = sft_dataset(config, load_tokenizer(str(tiny_gpt2)), "train", log=logged.append)
    assert sorted(sum(mask) for mask in data["completion_mask"])[-2:] == [8, 8]
    assert "2 of 10 reference summaries are longer than task.response_length=8 tokens; they are cut to it" in logged


def test_mostly_long_references_are_one_clear_error(tmp_path, tiny_gpt2):
    docs = references(tmp_path, *["Short."] * 4, *["A summary that runs on " * 6] * 6)
    config = config_for(tmp_path, tiny_gpt2, ("task", "tldr"), ("prompts.path", str(docs)), ("prompts.eval_fraction", 0.01),
                        ("task.query_length", 300), ("task.response_length", 8), ("task.truncate_after", 2))
    with pytest.raises(DataError, match=r"6 of 10 reference summaries are longer than task.response_length=8 tokens "
                                        r"\(their median is \d+ tokens.*raise task.response_length.*sft.cut_long_references"):
        sft_dataset(config, load_tokenizer(str(tiny_gpt2)), "train", log=lambda m: None)
    config = config_for(tmp_path, tiny_gpt2, ("task", "tldr"), ("prompts.path", str(docs)), ("prompts.eval_fraction", 0.01),
                        ("task.query_length", 300), ("task.response_length", 8), ("task.truncate_after", 2),
                        ("sft.cut_long_references", True))  # the user's choice: train on them cut
    data = sft_dataset(config, load_tokenizer(str(tiny_gpt2)), "train", log=lambda m: None)
    lengths = sorted(sum(mask) for mask in data["completion_mask"])
    assert len(lengths) == 10 and lengths[-6:] == [8] * 6 and lengths[3] < 8


def test_continuation_examples_are_plain_text_excerpts_of_query_plus_response_length(tmp_path, tiny_gpt2, shared_data):
    config = config_for(tmp_path, tiny_gpt2, ("prompts.path", str(shared_data / "stories" / "austen" / "persuasion.txt")),
                        ("task.query_length", 24), ("task.response_length", 24))
    tokenizer = load_tokenizer(str(tiny_gpt2))
    data = sft_dataset(config, tokenizer, "train", limit=50)
    assert len(data) == 50 and data.column_names == ["input_ids"]
    lengths = [len(ids) for ids in data["input_ids"]]
    assert max(lengths) <= 48 and sum(lengths) / len(lengths) > 24  # whole-sentence excerpts up to 48 tokens
    assert "Elliot" in "".join(tokenizer.decode(ids) for ids in data["input_ids"])


def test_summaries_without_references_are_one_clear_error(tmp_path, tiny_gpt2):
    docs = tmp_path / "docs.jsonl"
    docs.write_text("\n".join(f'{{"id": "{i}", "document": "Some text number {i}."}}' for i in range(20)))
    config = config_for(tmp_path, tiny_gpt2, ("task", "tldr"), ("prompts.path", str(docs)), ("task.query_length", 300))
    with pytest.raises(DataError, match="no reference summaries"):
        sft_dataset(config, load_tokenizer(str(tiny_gpt2)), "train")
