import json

import pytest
from conftest import write

from rlhf.config.prompt_source import PromptSource
from rlhf.errors import DataError
from rlhf.tasks.prompts import load_prompts, resolve_kind, split_sentences


def words(texts):
    return [len(t.split()) for t in texts]


def test_demo_stories_and_documents_load_with_a_stable_split():
    splits, report = load_prompts(PromptSource(kind="demo", path="stories"), ["text"])
    assert report.kept >= 200 and not report.skipped
    assert len(splits["eval"]) > 0 and len(splits["train"]) > len(splits["eval"])
    again, _ = load_prompts(PromptSource(kind="demo", path="stories"), ["text"])
    assert again["eval"]["id"] == splits["eval"]["id"] and splits["eval"]["id"][0].startswith("story-")
    other, _ = load_prompts(PromptSource(kind="demo", path="stories", split_seed=1), ["text"])
    assert other["eval"]["id"] != splits["eval"]["id"]
    docs, _ = load_prompts(PromptSource(kind="demo", path="documents"), ["document"], ["reference"])
    assert all(r["reference"] for r in docs["train"])


def test_split_does_not_move_when_rows_are_added(tmp_path):
    rows = [{"id": f"r{i}", "text": f"Prompt number {i}."} for i in range(300)]
    write(tmp_path / "a.jsonl", "\n".join(json.dumps(r) for r in rows[:200]))
    write(tmp_path / "b.jsonl", "\n".join(json.dumps(r) for r in reversed(rows)))
    small, _ = load_prompts(PromptSource(path=str(tmp_path / "a.jsonl"), id_field="id"), ["text"])
    big, _ = load_prompts(PromptSource(path=str(tmp_path / "b.jsonl"), id_field="id"), ["text"])
    assert set(small["eval"]["id"]) <= set(big["eval"]["id"])
    assert 0.03 < len(big["eval"]) / 300 < 0.2


def test_bad_jsonl_rows_are_counted_not_fatal(tmp_path):
    path = tmp_path / "p.jsonl"
    lines = [b'{"prompt": "A good one."}', b'{"prompt": ""}', b"not json", b'{"other": "x"}', b"[1, 2]",
             b'{"prompt": "caf\xe9"}', b'{"prompt": 7}', b'{"prompt": "Another good one."}']
    path.write_bytes(b"\n".join(lines))
    splits, report = load_prompts(PromptSource(path=str(path), fields={"text": "prompt"}, eval_fraction=0), ["text"])
    assert sorted(splits["train"]["text"]) == ["A good one.", "Another good one."]
    assert report.skipped == {"empty": 1, "not valid JSON": 1, "no field 'prompt'": 1, "not a JSON object": 1,
                              "wrong encoding": 1, "not text": 1}
    assert "skipped 6 bad rows" in report.summary()


def test_csv_and_parquet_with_field_names_and_nested_columns(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"body": ["First doc.", "Second doc.", ""], "tl": ["one", "two", "three"]})
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet")
    for name in ("d.csv", "d.parquet"):
        src = PromptSource(path=str(tmp_path / name), fields={"document": "body", "reference": "tl"}, eval_fraction=0)
        splits, report = load_prompts(src, ["document"], ["reference"])
        assert splits["train"]["document"] == ["First doc.", "Second doc."]
        assert splits["train"]["reference"] == ["one", "two"] and sum(report.skipped.values()) == 1
    write(tmp_path / "n.jsonl", json.dumps({"info": {"post": "Nested post."}}))
    splits, _ = load_prompts(PromptSource(path=str(tmp_path / "n.jsonl"), fields={"document": "info.post"}, eval_fraction=0), ["document"])
    assert splits["train"]["document"] == ["Nested post."]


def test_plain_text_is_cut_into_whole_sentence_excerpts(tmp_path):
    text = "CHAPTER I\n\n" + " ".join(f"Sentence number {i} is here." for i in range(60)) + "\n\nThe end of it\n"
    write(tmp_path / "book.txt", text)
    write(tmp_path / "LICENSE.debian", "Not prose.")
    count = lambda texts: [len(t.split()) for t in texts]
    splits, report = load_prompts(PromptSource(path=str(tmp_path), eval_fraction=0), ["text"], [], count, 20)
    excerpts = splits["train"]["text"]
    assert all(e.startswith("Sentence") and e.endswith("here.") for e in excerpts)
    assert all(10 <= n <= 20 for n in words(excerpts)) and len(excerpts) == 15
    assert not any("CHAPTER" in e or "Not prose" in e for e in excerpts)


def test_a_sentence_longer_than_the_query_keeps_the_excerpt_before_it(tmp_path):
    long = " ".join(["Word"] * 30) + "."
    write(tmp_path / "t.txt", "One two three four five six. Seven eight nine ten eleven twelve. " + long)
    count = lambda texts: [len(t.split()) for t in texts]
    splits, report = load_prompts(PromptSource(path=str(tmp_path / "t.txt"), eval_fraction=0), ["text"], [], count, 20)
    assert splits["train"]["text"] == ["One two three four five six. Seven eight nine ten eleven twelve."]
    assert report.skipped["sentence longer than the query"] == 1


def test_undecodable_lines_of_a_text_file_are_counted(tmp_path):
    (tmp_path / "t.txt").write_bytes(b"Good line one here.\n\n\xff\xfe bad bytes.\n\nGood line two here.\n")
    count = lambda texts: [len(t.split()) for t in texts]
    _, report = load_prompts(PromptSource(path=str(tmp_path / "t.txt")), ["text"], [], count, 8)
    assert report.skipped["wrong encoding"] == 1


def test_split_sentences_handles_quotes_and_wrapped_lines():
    text = 'He said, "Come here."  She\nwent. Did she?\n\nHEADING\n\nYes!'
    assert split_sentences(text) == ['He said, "Come here."', "She went.", "Did she?", "Yes!"]
    assert split_sentences('"Oh!" said she. "Why?" Mr. Knightley came.') == ['"Oh!" said she.', '"Why?"', "Mr. Knightley came."]


def test_kind_is_inferred_and_missing_paths_are_clear(tmp_path):
    write(tmp_path / "x.jsonl", "{}")
    assert resolve_kind(PromptSource(path=str(tmp_path / "x.jsonl"))) == "jsonl"
    assert resolve_kind(PromptSource(path="cnn_dailymail")) == "hub"
    assert resolve_kind(PromptSource(path="openai/summarize_from_feedback")) == "hub"
    with pytest.raises(DataError, match="no such file"):
        resolve_kind(PromptSource(path="data/missing.jsonl"))


def test_unreachable_hub_dataset_names_the_local_alternatives(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(DataError) as info:
        load_prompts(PromptSource(kind="hub", path="bookcorpus"), ["text"])
    assert "cannot load hub dataset 'bookcorpus'" in str(info.value) and "prompts.kind=demo" in str(info.value)


def test_austen_novels_become_excerpts_of_at_most_the_query_length(shared_data):
    from rlhf.models.tiny import tiny_tokenizer

    tokenizer = tiny_tokenizer()
    count = lambda texts: [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    src = PromptSource(path=str(shared_data / "stories" / "austen"))
    splits, report = load_prompts(src, ["text"], [], count, 64)
    assert report.kept > 2000 and len(splits["eval"]) > 100
    assert {i.split(":")[0] for i in splits["train"]["id"]} >= {"emma", "persuasion", "prideprejudice"}
    sample = splits["train"].select(range(0, report.kept // 2, 97))["text"]
    assert all(t[0].isupper() or t[0] in "\"'" for t in sample) and all(t[-1] in ".!?\"')" for t in sample)
