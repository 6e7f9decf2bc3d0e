"""The Compare page (human pairwise evaluation), run in-process with streamlit.testing.v1.AppTest."""

import html
import re
import types

import pytest
from test_labeling_app import USERS, errors, sign_in

from labeling_app import compare_page, context
from labeling_app.synthetic import make_run

SYSTEM, BASELINE = "policy-x9", "zero-shot"  # names that must never reach the page
NASTY = " <script>alert(1)</script> **bold** [link](http://x) ![img](http://x/y.png)"


@pytest.fixture
def run(tmp_path, monkeypatch):
    """A run with 3 queries, three users and 8 open comparisons (a = SYSTEM, b = BASELINE)."""
    config_path, store = make_run(tmp_path / "runs", "comparetest", batches=3, labelers=USERS)
    for i in range(8):
        store.add_comparison(f"q{i % 3}", SYSTEM, BASELINE, f"A-side text {i}.", f"B-side text {i}.")
    monkeypatch.setenv("RLHF_CONFIG", str(config_path))
    monkeypatch.setattr(context, "min_reading_seconds", lambda run: 0.0)  # AppTest clicks faster than any person
    return types.SimpleNamespace(config=config_path, store=store)


def open_compare(name: str, password: str):
    at = sign_in(name, password)
    return at.switch_page("routes/compare.py").run()


def on_screen(at) -> tuple[int, str, str]:
    """(comparison id, left text, right text) as the page shows them, unescaped."""
    sides = {}
    for h in at.html:
        if 'class="rlhf-compare-text"' in h.value:
            side = re.search(r'data-side="(\w+)"', h.value).group(1)
            cid = int(re.search(r'data-comparison="(\d+)"', h.value).group(1))
            sides[side] = (cid, html.unescape(re.search(r'class="rlhf-compare-body">(.*?)</span></div>$', h.value, re.S).group(1)))
    assert sides["left"][0] == sides["right"][0]
    return sides["left"][0], sides["left"][1], sides["right"][1]


def everything_rendered(at) -> str:
    """Every element and block the script sent to the page (text, labels, keys, HTML), as protobuf text."""
    parts = []

    def walk(node):
        if getattr(node, "proto", None) is not None:
            parts.append(str(node.proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


def test_left_right_and_tie_are_stored_as_a_b_or_tie_in_both_display_orders(run):
    at = open_compare("ann", "ann-password")
    assert not at.exception and not errors(at)
    covered, expected = set(), {}
    for _ in range(8):
        cid, left, right = on_screen(at)
        a_on_left = left.startswith("A-side")
        assert {left, right} == {f"A-side text {cid - 1}.", f"B-side text {cid - 1}."}
        assert a_on_left == compare_page.left_is_a(cid, f"q{(cid - 1) % 3}")
        side = next((s for s in ("left", "right") if (a_on_left, s) not in covered), "tie")
        covered.add((a_on_left, side))
        clicked = left if side == "left" else right if side == "right" else None
        expected[cid] = "tie" if clicked is None else "a" if clicked.startswith("A-side") else "b"
        at.button(key=f"compare_{side}").click().run()
        assert not errors(at) and not at.warning
        row = next(r for r in run.store.comparisons() if r.id == cid)
        assert (row.judge, row.winner) == ("ann", expected[cid])
    assert {(True, "left"), (True, "right"), (False, "left"), (False, "right")} <= covered and "tie" in expected.values()
    assert {r.id: r.winner for r in run.store.comparisons()} == expected
    assert any("Nothing left to compare" in s.value for s in at.success)
    assert not [h for h in at.html if "rlhf-compare-text" in h.value]


def test_the_page_never_shows_which_system_wrote_which_text(run):
    at = open_compare("ann", "ann-password")
    for _ in range(3):
        page = everything_rendered(at)
        assert "A-side text" in page and "B-side text" in page and "compare_left" in page  # it sees texts and keys
        for name in (SYSTEM, BASELINE, "policy", "zero-shot", "data-system"):
            assert name not in page
        keys = {w.key for w in at.button}
        assert keys == {"compare_left", "compare_right", "compare_tie", "sign_out"}
        labels = [b.label for b in at.button if b.key != "sign_out"]
        assert labels == ["Left is better (1)", "Right is better (2)", "Tie (3)"]
        assert [b.proto.shortcut for b in at.button if b.key != "sign_out"] == ["1", "2", "3"]
        at.button(key="compare_tie").click().run()


def test_the_order_is_the_same_on_a_rerun_and_after_a_reload(run):
    at = open_compare("ann", "ann-password")
    first = on_screen(at)
    assert on_screen(at.run()) == first
    assert on_screen(open_compare("ann", "ann-password")) == first  # a new session: ann's claim, same order
    assert run.store.comparison_progress("ann") == (0, 8)


def test_two_labelers_get_different_comparisons_and_progress_counts_them(run):
    ann, bob = open_compare("ann", "ann-password"), open_compare("bob", "bob-password")
    assert on_screen(ann)[0] != on_screen(bob)[0]
    assert "0 / 8" in ann.get("progress")[0].proto.text and "0 / 7" in bob.get("progress")[0].proto.text
    ann.button(key="compare_left").click().run()
    assert "1 / 7" in ann.get("progress")[0].proto.text  # bob holds one of the eight


def test_a_click_right_after_the_comparison_appears_is_dropped_as_a_bounce(run, monkeypatch):
    at = open_compare("ann", "ann-password")
    monkeypatch.setattr(context, "min_reading_seconds", lambda run: 60.0)
    cid = on_screen(at)[0]
    at.button(key="compare_left").click().run()
    assert all(r.winner is None for r in run.store.comparisons()) and on_screen(at)[0] == cid


def test_a_comparison_taken_away_meanwhile_is_a_notice_not_a_crash(run):
    at = open_compare("ann", "ann-password")
    cid = on_screen(at)[0]
    run.store.release_comparisons("ann")
    assert run.store.judge_comparison(cid, "bob", "a")  # bob judged it in the meantime
    at.button(key="compare_right").click().run()
    assert not at.exception and "not stored" in at.warning[0].value and "another labeler" in at.warning[0].value
    assert on_screen(at)[0] != cid
    assert next(r for r in run.store.comparisons() if r.id == cid).winner == "a"


def test_with_nothing_to_compare_the_page_says_so(run, tmp_path, monkeypatch):
    config_path, _ = make_run(tmp_path / "empty", "empty", batches=1, labelers=USERS)
    monkeypatch.setenv("RLHF_CONFIG", str(config_path))
    at = open_compare("ann", "ann-password")
    assert not at.exception and any("Nothing left to compare" in s.value for s in at.success)
    assert [b.key for b in at.button] == ["sign_out", "compare_refresh"]


def test_model_text_on_the_compare_page_is_shown_literally(run, tmp_path, monkeypatch):
    config_path, store = make_run(tmp_path / "nasty", "nasty", batches=1, labelers=USERS)
    prompt = "Say <b>hi</b> **now** [x](http://y) " + "and then some more words " * 4
    store.add_queries([{"id": "qn", "task": "sentiment", "prompt": prompt}])
    store.add_comparison("qn", SYSTEM, BASELINE, NASTY, "**plain**")
    monkeypatch.setenv("RLHF_CONFIG", str(config_path))
    at = open_compare("ann", "ann-password")
    _, left, right = on_screen(at)
    assert {left, right} == {NASTY, "**plain**"}
    blocks = [h.value for h in at.html if "rlhf-compare" in h.value]
    assert any('class="rlhf-compare-prompt"' in b and "&lt;b&gt;hi&lt;/b&gt;" in b for b in blocks)  # the long prompt, whole
    for body in blocks:
        assert "<script>" not in body and "<b>" not in body and "<img" not in body and "<a " not in body
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in body for body in blocks)
    markdown = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    for raw in ("<script>", "**bold**", "**plain**", "<b>hi</b>", "](http"):
        assert raw not in markdown
