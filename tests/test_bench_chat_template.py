"""bench/chat_template.py --quick: zero-shot summaries sampled with and without the chat template."""

import json

from bench_modules import load_bench

chat_template = load_bench("chat_template")


def test_both_formats_are_sampled_on_the_same_documents_and_measured(tmp_path, capsys):
    out = tmp_path / "figures.json"
    assert chat_template.main(["--quick", "--documents", "4", "--workdir", str(tmp_path), "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    raw, chat = figures["raw"], figures["chat template"]
    assert raw["documents"] == chat["documents"] == 4 and raw["n"] == chat["n"] == 4
    assert chat["query_tokens"] > raw["query_tokens"]  # the template's tokens around the same documents
    assert raw["rougeL"] is not None and "chat template" in capsys.readouterr().out
