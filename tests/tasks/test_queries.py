from rlhf.config.task import load_task
from rlhf.tasks.prompts import PromptReport
from rlhf.tasks.queries import build_queries, encode


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
