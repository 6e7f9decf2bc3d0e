"""The labeling page's toolbar, keys, skip and flag forms, folded prompts and highlight, run in-process with AppTest.

(Whether it all fits a 1280x800 window, and the keys in a real browser: test_label_page_browser.py.)
"""

import html
import re
import types

import pytest
from test_labeling_app import NASTY, USERS, button, instructions, on_screen, sign_in
from test_render import DIALOGUE

from labeling_app import context, render
from labeling_app.synthetic import fill_store, make_run


@pytest.fixture
def run(tmp_path, monkeypatch):
    """A run with 3 synthetic batches and three users; RLHF_CONFIG points at it."""
    config_path, store = make_run(tmp_path / "runs", "labelpage", batches=3, labelers=USERS)
    monkeypatch.setenv("RLHF_CONFIG", str(config_path))
    monkeypatch.setattr(context, "min_reading_seconds", lambda run: 0.0)  # AppTest clicks faster than any person
    return types.SimpleNamespace(config=config_path, store=store)


def options_html(at) -> list[str]:
    """The options' HTML in shown order (the page draws them column by column)."""
    options = [h.value for h in at.html if 'class="rlhf-option"' in h.value]
    return sorted(options, key=lambda o: int(re.search(r'data-position="(\d+)"', o).group(1)))


def marked(at) -> list[list[str]]:
    return [[html.unescape(m) for m in re.findall(r'<mark class="rlhf-diff"[^>]*>(.*?)</mark>', o, re.S)] for o in options_html(at)]


def test_each_action_has_its_key_and_the_legend_lists_them(run):
    at = sign_in("ann", "ann-password")
    keys = {b.key: b.proto.shortcut for b in at.button if b.key in ("instructions_toggle", "skip_open", "flag_open", "review_previous")}
    assert keys == {"instructions_toggle": "i", "skip_open": "s", "flag_open": "f", "review_previous": "u"}
    assert [b.proto.shortcut for b in at.button if b.key and b.key.startswith("choose_")] == ["1", "3", "2", "4"]
    legend = " ".join(c.value for c in at.caption if c.value.startswith("Keys:"))
    for entry in ("**1-4** best", "**S** skip", "**F** flag", "**U** previous", "**I** instructions", "**Esc**"):
        assert entry in legend


def test_i_hides_and_shows_the_instructions_and_a_label_folds_them_once(run):
    at = sign_in("ann", "ann-password")
    assert instructions(at)  # open until the first label
    at.button(key="instructions_toggle").click().run()
    assert instructions(at) is None and button(at, "Instructions")
    at.button(key="choose_0").click().run()
    assert instructions(at) is None
    at.button(key="instructions_toggle").click().run()  # asked for: open, and it stays open after a label
    assert "POSITIVE" in instructions(at) and button(at, "Hide instructions")
    at.button(key="choose_0").click().run()
    assert instructions(at)


def test_skip_and_flag_open_one_form_in_the_page_which_the_key_again_or_cancel_closes(run):
    at = sign_in("ann", "ann-password")
    batch, _ = on_screen(at)
    at.button(key="skip_open").click().run()
    assert [r.label for r in at.radio] == ["Why skip this item?"] and at.button(key="skip_open").proto.type == "primary"
    at.button(key="flag_open").click().run()  # the other form instead
    assert [r.label for r in at.radio] == ["What is wrong with the prompt?"]
    at.button(key="flag_open").click().run()
    assert not at.radio
    at.button(key="skip_open").click().run()
    cancel = next(b for b in at.button if b.label == "Cancel")
    assert cancel.proto.shortcut == "escape"
    cancel.click().run()
    assert not at.radio and run.store.labels() == [] and on_screen(at)[0] == batch


def test_a_form_left_open_is_closed_for_the_next_item(run):
    at = sign_in("ann", "ann-password")
    at.button(key="skip_open").click().run()
    at.button(key="choose_0").click().run()
    assert not at.radio and len(run.store.labels()) == 1


def test_highlighting_is_off_by_default_marks_only_differing_words_and_lasts_the_session(run):
    fill_store(run.store, [("Then she said", [" the same words and then <b>one</b>.", " the same words and then two.",
                                              " the same words and then two.", " the same words and then three."])],
               prefix="diff")
    at = sign_in("ann", "ann-password")
    assert not any(marked(at)) and at.toggle(key=render.HIGHLIGHT).value is False
    at.toggle(key=render.HIGHLIGHT).set_value(True).run()
    assert all(marked(at))  # the synthetic continuations differ: each has marked words
    for step in range(3):  # the batch with shared words is the last one
        at.button(key=f"choose_{step}").click().run()
    assert at.toggle(key=render.HIGHLIGHT).value is True  # still on for the next items
    _, texts = on_screen_marked(at)
    by_text = dict(zip(texts, marked(at)))
    assert by_text[" the same words and then <b>one</b>."] == ["<b>one</b>."]
    assert by_text[" the same words and then two."] == ["two."] and by_text[" the same words and then three."] == ["three."]
    assert not [o for o in options_html(at) if "<b>" in o]  # the marked text is escaped
    button(at, "↶ Previous").click().run()  # the review (no toggle on it) highlights too
    assert any(marked(at)) and not [t for t in at.toggle if t.key == render.HIGHLIGHT]


def on_screen_marked(at) -> tuple[int, list[str]]:
    """on_screen for a page with highlights: the texts in shown order, without their <mark> tags."""
    batch = int(re.search(r'data-batch="(\d+)"', options_html(at)[0]).group(1))
    bodies = [re.search(r'class="rlhf-continuation">(.*?)</span></div>$', o, re.S).group(1) for o in options_html(at)]
    return batch, [html.unescape(re.sub(r"</?mark[^>]*>", "", b)) for b in bodies]


@pytest.mark.parametrize("highlight", [False, True])
def test_model_text_stays_literal_with_or_without_the_highlight(run, highlight):
    fill_store(run.store, [("Say <b>hi</b> **now** [x](http://y)", NASTY)], prefix="nasty")
    at = sign_in("ann", "ann-password")
    at.toggle(key=render.HIGHLIGHT).set_value(highlight).run()
    for step in range(3):
        at.button(key=f"choose_{step}").click().run()
    assert sorted(on_screen_marked(at)[1]) == sorted(NASTY)
    for body in options_html(at):
        assert "<script>" not in body and "<b>" not in body and "<img" not in body and "<a " not in body
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in body for body in options_html(at))


def test_a_long_prompt_shows_its_end_with_the_rest_folded_and_options_repeat_its_last_line(run):
    fill_store(run.store, [(DIALOGUE, [" The ferry is late.", " Late ferry.", " Ferry, late.", " It is late."])], prefix="long")
    at = sign_in("ann", "ann-password")
    for step in range(3):
        at.button(key=f"choose_{step}").click().run()
    [prompt] = [h.value for h in at.html if 'class="rlhf-prompt"' in h.value]
    head, end = render.prompt_end(DIALOGUE)
    assert "<details" in prompt and "<details open" not in prompt and html.escape(end) in prompt
    assert all("TL;DR:" in o and "#Person" not in o for o in options_html(at))
