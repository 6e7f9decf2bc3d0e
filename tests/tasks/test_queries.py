import pytest

from rlhf.config.task import load_task
from rlhf.tasks.prompts import PromptReport
from rlhf.tasks.queries import at_boundary, build_queries, encode


def test_long_documents_are_shortened_keeping_the_template_suffix(tiny_gpt2):
    from rlhf.models.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(str(tiny_gpt2))
    task = load_task({"name": "tldr", "query_length": 40})
    doc = " ".join(f"The council met on day {i} to discuss the new library." for i in range(20))
    (query,) = build_queries(task, [{"id": "d1", "document": doc, "reference": "Short."}], tokenizer)
    assert len(query.input_ids) <= 40 and query.text.endswith("\n\nTL;DR:") and query.reference == "Short."
    assert query.text.startswith("The council met on day 0")


def test_too_long_prompts_without_a_truncate_field_are_skipped_and_counted(tiny_gpt2):
    from rlhf.models.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(str(tiny_gpt2))
    task = load_task({"name": "sentiment", "query_length": 8})
    report = PromptReport("test")
    records = [{"id": "a", "text": "Short one."}, {"id": "b", "text": "This prompt is certainly far longer than eight tokens."}]
    queries = build_queries(task, records, tokenizer, report)
    assert [q.id for q in queries] == ["a"] and report.skipped["longer than the query length"] == 1
    assert queries[0].input_ids == encode(tokenizer, "Short one.")


def test_the_limit_counts_queries_that_fit_not_records_read(tiny_gpt2):
    from rlhf.models.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(str(tiny_gpt2))
    task = load_task({"name": "sentiment", "query_length": 8})
    long = "This prompt is certainly far longer than eight tokens."
    records = [{"id": "a", "text": long}, {"id": "b", "text": "Short."}, {"id": "c", "text": long}, {"id": "d", "text": "Tiny."}, {"id": "e", "text": "Wee."}]
    assert [q.id for q in build_queries(task, records, tokenizer, limit=2)] == ["b", "d"]


def test_an_article_is_cut_after_its_last_whole_sentence_and_the_whole_document_kept(tiny_gpt2):
    from rlhf.models.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(str(tiny_gpt2))
    task = load_task({"name": "tldr", "query_length": 60})
    doc = " ".join(f"The council met on day {i} to discuss the new library." for i in range(20))
    (query,) = build_queries(task, [{"id": "d1", "document": doc, "reference": "Short."}], tokenizer)
    kept = query.text.removesuffix("\n\nTL;DR:")
    assert kept.endswith("library.") and len(query.input_ids) <= 60 and doc.startswith(kept)
    assert query.source == kept and query.document == doc


def test_a_dialogue_is_cut_before_its_last_partial_turn(tiny_gpt2):
    from rlhf.models.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(str(tiny_gpt2))
    task = load_task({"name": "tldr", "query_length": 240})
    turns = [f"#Person{1 + i % 2}#: Is the library open on day {i}? I need to return a book about boats."
             for i in range(12)]
    dialogue = "\n".join(turns)
    (query,) = build_queries(task, [{"id": "d1", "document": dialogue}], tokenizer)
    kept = query.text.removesuffix("\n\nTL;DR:")
    assert kept.split("\n") == turns[:len(kept.split("\n"))]  # whole turns only, no "#Person1" stub
    assert len(kept.split("\n")) >= 2


def test_stylistic_tasks_keep_the_papers_token_cut(tiny_gpt2):
    from rlhf.models.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(str(tiny_gpt2))
    task = load_task({"name": "sentiment", "query_length": 60, "truncate_field": "text"})
    text = " ".join(f"The council met on day {i} to discuss the new library." for i in range(20))
    (query,) = build_queries(task, [{"id": "s1", "text": text}], tokenizer)
    assert len(query.input_ids) == 60 and not query.text.endswith(".")


@pytest.mark.parametrize("cut, whole, expected", [
    ("#A#: Hi there.\n#B#: Hello, how are\n#A#: Is that all?\n#B", "", "#A#: Hi there.\n#B#: Hello, how are\n#A#: Is that all?"),
    ("#A#: Hi.\n#B#: Fine, thanks.", "#A#: Hi.\n#B#: Fine, thanks.\n#A#: Good.", "#A#: Hi.\n#B#: Fine, thanks."),
    ("One sentence here. Another one there. And a half", "", "One sentence here. Another one there."),
    ("A very long opening sentence without an end and then. More", "", "A very long opening sentence without an end and then."),
    ("Short. A very long second sentence that goes on and on and never ends", "",
     "Short. A very long second sentence that goes on and on and never ends"),  # would keep under half
])
def test_at_boundary(cut, whole, expected):
    assert at_boundary(cut, whole) == expected


CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def test_the_chat_template_option_builds_the_tokenizers_own_ids_and_cuts_the_document_inside_it(tiny_gpt2):
    from rlhf.models.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(str(tiny_gpt2))
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    tokenizer.chat_template = CHATML
    task = load_task({"name": "tldr", "query_length": 120, "chat_template": True})
    short, long = "The council met.", " ".join(f"The council met on day {i} to discuss the library." for i in range(30))
    queries = build_queries(task, [{"id": "a", "document": short}, {"id": "b", "document": long}], tokenizer)
    expected = tokenizer.apply_chat_template([{"role": "user", "content": short + "\n\nTL;DR:"}],
                                             add_generation_prompt=True, tokenize=True, return_dict=True)
    assert queries[0].input_ids == list(expected["input_ids"])
    assert len(queries[1].input_ids) <= 120 and queries[1].text.endswith("TL;DR:<|im_end|>\n<|im_start|>assistant\n")
    for query in queries:  # the reward model re-encodes the stored text: it must give the same ids
        assert encode(tokenizer, query.text) == query.input_ids
    assert build_queries(load_task({"name": "tldr", "query_length": 120}), [{"id": "a", "document": short}],
                         tokenizer)[0].input_ids == encode(tokenizer, short + "\n\nTL;DR:")


def test_the_chat_template_option_on_a_model_without_one_names_the_key(tiny_gpt2):
    from rlhf.errors import ConfigError
    from rlhf.models.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(str(tiny_gpt2))
    tokenizer.chat_template = None
    with pytest.raises(ConfigError, match="task.chat_template.*no chat template"):
        build_queries(load_task({"name": "tldr", "chat_template": True}), [{"id": "a", "document": "Doc."}], tokenizer)
