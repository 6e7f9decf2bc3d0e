"""Model text on the page: a long prompt folded to its end, differing words marked, everything escaped."""

import html
import re

from labeling_app import render
from labeling_app.differences import segments

DIALOGUE = "\n".join(f"#Person{1 + i % 2}#: On day {i} the ferry to the island left late again." for i in range(160)) + "\n\nTL;DR:"


def test_a_long_prompt_ends_with_its_last_lines_and_the_head_is_all_before_them():
    assert len(DIALOGUE) > 9000
    head, end = render.prompt_end(DIALOGUE)
    assert head + end == DIALOGUE
    assert end.startswith("#Person") and end.endswith("\n\nTL;DR:") and len(end) <= render.PROMPT_END_CHARS
    assert head.endswith("\n")  # cut between lines, not inside one


def test_one_long_line_is_cut_at_a_word_and_a_short_prompt_is_not_folded():
    line = " ".join(f"word{i}" for i in range(400))
    head, end = render.prompt_end(line)
    assert head + end == line and end.startswith("word") and head.endswith(" ")
    assert render.prompt_end("A short prompt.\nTwo lines.") == ("", "A short prompt.\nTwo lines.")
    assert render.prompt_end("x" * render.FOLD_ABOVE)[0] == ""


def test_the_folded_prompt_shows_its_end_and_opens_on_the_control_escaped():
    prompt = "<script>alert(1)</script> **bold**\n" * 40 + "Say <b>hi</b>:"
    page = render.prompt_html(prompt, batch_id=7)
    head, end = render.prompt_end(prompt)
    folded = re.search(r"<details[^>]*><summary.*?</summary><span[^>]*>(.*?)</span></details>", page, re.S)
    assert folded and html.unescape(folded.group(1)) == head  # the head only inside the (closed) <details>
    shown = re.search(r'class="rlhf-prompt-end"[^>]*>(.*?)</span></div>$', page, re.S)
    assert html.unescape(shown.group(1)) == end and end.endswith("Say <b>hi</b>:")
    assert "<script>" not in page and "<b>" not in page and "&lt;b&gt;hi&lt;/b&gt;" in page
    assert "<details open" not in page and f"{len(prompt):,} characters" in page


def test_marked_words_are_highlighted_and_escaped():
    texts = [" a <b>bold</b> move", " a quiet move"]
    [marks, _] = segments(texts)
    option = render.continuation_html("Prompt", texts[0], 1, 3, marks)
    assert re.findall(r'<mark class="rlhf-diff"[^>]*>(.*?)</mark>', option) == ["&lt;b&gt;bold&lt;/b&gt;"]
    assert "<b>" not in option and html.unescape(re.sub(r"<[^>]+>", "", option)).endswith(texts[0])
    assert "<mark" not in render.continuation_html("Prompt", texts[0], 1, 3)  # off: the text as before


def test_options_below_a_long_prompt_repeat_only_its_last_line():
    option = render.continuation_html(DIALOGUE, " The ferry is late.", 2, 3, last_line_only=True)
    assert re.search(r"</span><span style=\"[^\"]*\">TL;DR:</span>", option)
    assert "#Person" not in option
