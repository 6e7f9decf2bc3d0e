"""The Streamlit labeling app, run in-process with streamlit.testing.v1.AppTest."""

import html
import json
import re
import sys
import threading
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from labeling_app import context
from labeling_app.synthetic import fill_store, make_run
from rlhf.labeling import export as real_export
from rlhf.labeling.store import LabelStore

APP = str(Path(__file__).resolve().parents[2] / "labeling_app" / "app.py")
USERS = [("ann", "ann-password", "labeler"), ("bob", "bob-password", "labeler"), ("root", "root-password", "admin")]
NASTY = [" <script>alert(1)</script> done.", " **bold** move.", " [link](http://x) here.", " ![img](http://x/y.png) there."]


@pytest.fixture
def run(tmp_path, monkeypatch):
    """A run with 3 synthetic batches and three users; RLHF_CONFIG points at it."""
    config_path, store = make_run(tmp_path / "runs", "apptest", batches=3, labelers=USERS)
    monkeypatch.setenv("RLHF_CONFIG", str(config_path))
    monkeypatch.setattr(context, "min_reading_seconds", lambda run: 0.0)  # AppTest clicks faster than any person
    return types.SimpleNamespace(config=config_path, store=store)


def app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60)


def sign_in(name: str, password: str) -> AppTest:
    at = app().run()
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(password)
    return button(at, "Sign in").click().run()


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def on_screen(at: AppTest) -> tuple[int, list[str]]:
    """(batch id, continuations in shown order) as the page shows them, unescaped."""
    options = [h.value for h in at.html if 'class="rlhf-option"' in h.value]
    batch = int(re.search(r'data-batch="(\d+)"', options[0]).group(1))
    texts = [html.unescape(re.search(r'class="rlhf-continuation">(.*?)</span></div>$', o, re.S).group(1)) for o in options]
    positions = [int(re.search(r'data-position="(\d+)"', o).group(1)) for o in options]
    return batch, [text for _, text in sorted(zip(positions, texts))]


def instructions(at: AppTest):
    """The task's instructions while they are open on the page, else None."""
    values = [m.value for m in at.markdown]
    heads = [i for i, value in enumerate(values) if value.startswith("**Instructions:")]
    return values[heads[0] + 1] if heads else None


def progress_text(at: AppTest) -> str:
    return at.get("progress")[0].proto.text


def test_signing_in_shows_the_labeling_page(run):
    at = sign_in("ann", "ann-password")
    assert not at.exception and not errors(at)
    batch, texts = on_screen(at)
    assert len(texts) == 4 and sorted(texts) == sorted(run.store.batch(batch).samples)
    assert [b.key for b in at.button if b.key and b.key.startswith("choose_")] == [f"choose_{p}" for p in (0, 2, 1, 3)]
    assert "0 / 3" in progress_text(at)
    assert "POSITIVE" in instructions(at)  # the instructions are open the first time


@pytest.mark.parametrize("name, password", [("ann", "wrong-password"), ("nobody", "ann-password"), ("ann", "")])
def test_a_wrong_name_or_password_is_refused_without_saying_which(run, name, password):
    at = sign_in(name, password)
    assert errors(at) == ["Wrong name or password."]
    assert not [h for h in at.html if "rlhf-option" in h.value]
    assert at.text_input(key="sign_in_password").value == ""  # the password is not kept


def test_without_rlhf_config_the_app_shows_one_error(monkeypatch, tmp_path):
    monkeypatch.delenv("RLHF_CONFIG", raising=False)
    at = app().run()
    assert len(at.error) == 1 and "RLHF_CONFIG is not set" in at.error[0].value and not at.text_input


@pytest.mark.parametrize("content, needle", [(None, "Cannot read the run config"), ("labeling: {port: -1}\n", "labeling.port"),
                                             ("task: [\n", "not valid YAML")])
def test_a_missing_or_broken_config_is_one_error(monkeypatch, tmp_path, content, needle):
    path = tmp_path / "config.yaml"
    if content is not None:
        path.write_text(content)
    monkeypatch.setenv("RLHF_CONFIG", str(path))
    at = app().run()
    assert len(at.error) == 1 and needle in at.error[0].value and not at.text_input


def test_a_config_whose_store_does_not_exist_says_so(monkeypatch, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(f"name: nowhere\noutput_dir: {tmp_path / 'runs'}\n")
    monkeypatch.setenv("RLHF_CONFIG", str(path))
    at = app().run()
    assert len(at.error) == 1 and "no label store" in at.error[0].value
    assert not (tmp_path / "runs" / "nowhere" / "labels.db").exists()  # no empty store created by mistake


def test_an_edited_config_is_read_again(run):
    at = sign_in("ann", "ann-password")
    assert "POSITIVE" in instructions(at)  # the sentiment task's own instructions
    text = run.config.read_text().replace("task: sentiment", "task: {name: sentiment, instructions: Pick the kindest.}")
    run.config.write_text(text)
    at.run()
    assert instructions(at) == "Pick the kindest."


def test_a_click_stores_the_choice_in_stored_order_and_shows_the_next_item(run):
    at = sign_in("ann", "ann-password")
    batch, texts = on_screen(at)
    at.button(key="choose_2").click().run()  # the third continuation on screen
    [stored] = run.store.labels()
    samples = run.store.batch(batch).samples
    assert stored.batch_id == batch and stored.labeler_id == run.store.labeler("ann").id
    assert samples[stored.choice] == texts[2]  # the stored index names the text that was clicked
    assert [samples[i] for i in stored.shown_order] == texts  # shown_order is what was on screen
    assert stored.choice == stored.shown_order[2]
    assert not stored.skipped and not stored.flagged and stored.seconds > 0 and len(stored.client_token) == 32
    next_batch, _ = on_screen(at)
    assert next_batch != batch
    assert "1 / 3" in progress_text(at)
    assert instructions(at) is None  # instructions out of the way after the first label


def test_skipping_stores_the_reason_and_moves_on(run):
    at = sign_in("ann", "ann-password")
    batch, _ = on_screen(at)
    assert not at.radio  # the reasons appear when the labeler skips (button or key S)
    at.button(key="skip_open").click().run()
    next(r for r in at.radio if r.key.startswith("skip_reason_")).set_value("I don't understand the text")
    next(t for t in at.text_input if t.key.startswith("skip_details_")).input("too short")
    button(at, "Skip this item").click().run()
    [stored] = run.store.labels()
    assert stored.batch_id == batch and stored.skipped and not stored.flagged and stored.choice is None
    assert stored.reason == "I don't understand the text: too short" and stored.shown_order is not None
    assert on_screen(at)[0] != batch


def test_flagging_a_prompt_stores_the_reason(run):
    at = sign_in("ann", "ann-password")
    batch, _ = on_screen(at)
    at.button(key="flag_open").click().run()
    next(r for r in at.radio if r.key.startswith("flag_reason_")).set_value("Offensive or harmful")
    button(at, "Flag the prompt").click().run()
    [stored] = run.store.labels()
    assert stored.batch_id == batch and stored.flagged and stored.choice is None and stored.reason == "Offensive or harmful"
    assert on_screen(at)[0] != batch


def test_progress_and_no_batch_twice_until_all_done(run):
    at = sign_in("ann", "ann-password")
    seen = []
    for step in range(3):
        assert f"{step} / 3" in progress_text(at)
        seen.append(on_screen(at)[0])
        at.button(key=f"choose_{step}").click().run()
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 3
    assert "3 / 3" in progress_text(at) and "labels/hour" in progress_text(at)
    assert any("All done" in s.value for s in at.success) and not [h for h in at.html if "rlhf-option" in h.value]
    again = sign_in("ann", "ann-password")  # a new session: still nothing to repeat
    assert any("All done" in s.value for s in again.success)
    assert sorted(label.batch_id for label in run.store.labels()) == sorted(seen)


def test_a_reload_shows_the_same_open_item(run):
    first = on_screen(sign_in("ann", "ann-password"))
    assert on_screen(sign_in("ann", "ann-password")) == first  # the open assignment, in the same order


def test_two_labelers_share_a_batch_when_asked(run, tmp_path, monkeypatch):
    config = run.config.read_text().replace("labelers_per_batch: 1", "labelers_per_batch: 2")
    path = tmp_path / "two.yaml"
    path.write_text(config)
    monkeypatch.setenv("RLHF_CONFIG", str(path))
    assert on_screen(sign_in("ann", "ann-password"))[0] == on_screen(sign_in("bob", "bob-password"))[0]


def test_a_click_right_after_the_item_appears_is_dropped_as_a_bounce(run, monkeypatch):
    at = sign_in("ann", "ann-password")
    monkeypatch.setattr(context, "min_reading_seconds", lambda run: 60.0)
    batch, _ = on_screen(at)
    at.button(key="choose_0").click().run()
    assert run.store.labels() == [] and on_screen(at)[0] == batch


def test_model_text_is_shown_literally(run):
    fill_store(run.store, [("Say <b>hi</b> **now** [x](http://y)", NASTY)], prefix="nasty")
    at = sign_in("ann", "ann-password")
    for step in range(3):  # the nasty batch is the last one
        at.button(key=f"choose_{step}").click().run()
    _, texts = on_screen(at)
    assert sorted(texts) == sorted(NASTY)  # the raw text, character for character
    options = [h.value for h in at.html if "rlhf-option" in h.value]
    for body in options:
        assert "<script>" not in body and "<b>" not in body and "<img" not in body and "<a " not in body
        assert "&lt;b&gt;hi&lt;/b&gt;" in body  # the prompt's end, escaped, precedes each continuation
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in body for body in options)
    markdown = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    for raw in NASTY + ["<b>hi</b>", "**now**"]:
        assert raw.strip() not in markdown  # nothing of the model's text goes through markdown
    assert not [m for m in at.markdown if "<script" in m.value or "](" in m.value]


def test_a_labeler_cannot_open_the_dashboard(run):
    at = sign_in("ann", "ann-password")
    at.switch_page("routes/dashboard.py").run()
    assert errors(at) == ["Admins only."]
    assert not at.title and not at.metric and not at.dataframe and not at.get("arrow_vega_lite_chart")
    assert [b.key for b in at.button] == ["sign_out"]  # no export, nothing else
    assert not at.subheader and not at.info  # no evaluation section, no runs table


def test_a_labeler_can_open_the_compare_page(run):
    at = sign_in("ann", "ann-password")
    at.switch_page("routes/compare.py").run()
    assert not at.exception and not errors(at)
    assert any("Nothing left to compare" in s.value for s in at.success)  # this run has no comparisons


def test_an_admin_sees_the_dashboard(run):
    ann, bob = run.store.labeler("ann"), run.store.labeler("bob")
    for batch in (1, 2):
        run.store.submit(ann.id, batch, choice=0, shown_order=[0, 1, 2, 3], seconds=4.0)
        run.store.submit(bob.id, batch, choice=batch - 1, shown_order=[3, 2, 1, 0], seconds=6.0)
    run.store.submit(ann.id, 3, skipped=True, reason="Other: dull", shown_order=[0, 1, 2, 3], seconds=2.0)
    robot = run.store.ensure_labeler("sim:sentiment")  # not a person: out of the agreement unless included
    for batch in (1, 2):
        run.store.submit(robot.id, batch, choice=3, shown_order=[0, 1, 2, 3], seconds=0.0)
    at = sign_in("root", "root-password")
    at.switch_page("routes/dashboard.py").run()
    assert not at.exception and not errors(at) and at.title[0].value == "Dashboard"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Observed agreement"] == "50%" and metrics["Measured on"] == "2 batches"
    # By hand: batches [2, 0, 0, 0] and [1, 1, 0, 0]; kappa (0.5 - 0.625) / 0.375, alpha 1 - 0.5 / 0.5.
    assert metrics["Fleiss' κ"] == "-0.33" and metrics["Krippendorff's α"] == "0.00"
    matrix = at.dataframe[1].value  # the pairwise agreement, humans only
    assert list(matrix.index) == ["ann", "bob"] and matrix.loc["ann", "bob"] == matrix.loc["bob", "ann"] == 0.5
    assert [(r.label, r.value) for r in at.toggle] == [("Include imported and simulated labelers", False)]
    at.toggle[0].set_value(True).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Observed agreement"] == "17%"  # 1 of the 6 pairs: sim:sentiment agrees with no one
    assert metrics["Choices"] == "6" and metrics["Skipped"] == "1"
    table = at.dataframe[0].value.set_index("labeler")
    assert table.loc["ann", "chosen"] == 2 and table.loc["ann", "skipped"] == 1 and table.loc["bob", "median s/label"] == 6.0
    assert "position 1: 33%" in " ".join(c.value for c in at.caption)  # ann's two of the six choices were shown first
    reasons = next(frame.value for frame in at.dataframe if "reason" in frame.value.columns)
    assert list(reasons.iloc[0]) == ["skip", "Other: dull", 1]


def test_a_large_stores_dashboard_is_drawn_before_its_first_figures_and_with_them_once_ready(run, monkeypatch):
    from labeling_app import dashboard_figures

    monkeypatch.setattr(dashboard_figures, "SYNC_LABELS", 0)  # every store counts as large
    monkeypatch.setattr(dashboard_figures, "_KEPT", {})  # a server just started, not yet warmed
    ann = run.store.labeler("ann")
    run.store.submit(ann.id, 1, choice=2, shown_order=[0, 1, 2, 3], seconds=4.0)
    gate = threading.Event()  # holds the background reading until the first render is checked
    real_read = dashboard_figures.read
    monkeypatch.setattr(dashboard_figures, "read", lambda *args: gate.wait(60) and real_read(*args))
    monkeypatch.setattr(dashboard_figures, "_EXECUTOR", ThreadPoolExecutor(1))  # the gate is in this process
    at = sign_in("root", "root-password")  # the app's first run warmed the store: its reading is under way
    at.switch_page("routes/dashboard.py").run()
    assert not at.exception and not errors(at) and at.title[0].value == "Dashboard"
    assert [i.value for i in at.info][0].startswith("Computing the figures of 1 label rows")
    subheaders = [h.value for h in at.subheader]
    assert "Labelers" not in subheaders and {"Evaluation", "Runs", "Export"} <= set(subheaders)  # the rest is drawn
    gate.set()
    dashboard_figures.settle(run.store.url)
    at.run()  # in a browser the page's polling fragment asks for this rerun itself
    assert not at.exception and "Labelers" in [h.value for h in at.subheader]
    assert {m.label: m.value for m in at.metric}["Choices"] == "1"
    assert not any(i.value.startswith("Computing") for i in at.info)


def test_the_dashboard_shows_human_win_rates_and_the_runs_evaluations_side_by_side(run):
    store = run.store
    store.ensure_labeler("sim:sentiment")
    for winner in ("a", "a", "b", "tie"):  # ann judged policy (a) against zero-shot (b) four times
        cid = store.add_comparison("q0", "policy", "zero-shot", "p", "z")
        store.next_comparison("ann")
        store.judge_comparison(cid, "ann", winner)
    store.add_comparison("q1", "zero-shot", "policy", "z", "p", judge="bob", winner="a")  # zero-shot on a: policy lost
    store.add_comparison("q1", "policy", "zero-shot", "p", "z", judge="sim:sentiment", winner="a")  # not a person
    store.add_comparison("q2", "policy", "zero-shot", "p", "z")
    store.next_comparison("bob")  # claimed, not judged
    store.add_comparison("q2", "policy", "zero-shot", "p", "z")
    output_dir = run.config.parent.parent
    rate = {"wins": 6, "losses": 3, "ties": 1, "n": 10, "win_rate": 0.65, "low": 0.35, "high": 0.85}
    metrics = {"task": "sentiment", "baseline": "zero-shot", "systems": ["policy", "zero-shot"], "queries": 10,
               "samples_per_query": 1, "judges": {"sim:sentiment": {"policy": rate}}, "mean_scores": {}}
    for name, text in (("apptest", json.dumps(metrics)), ("other", json.dumps({**metrics, "task": "tldr"})),
                       ("broken", "{not json")):
        (output_dir / name / "eval").mkdir(parents=True)
        (output_dir / name / "eval" / "metrics.json").write_text(text)
    at = sign_in("root", "root-password")
    at.switch_page("routes/dashboard.py").run()
    assert not at.exception and not errors(at)
    metrics_shown = {m.label: m.value for m in at.metric}
    assert metrics_shown["Judged by people"] == "5" and metrics_shown["Open"] == "2"
    assert metrics_shown["Claimed, not judged yet"] == "1"
    tables = {tuple(d.value.columns): d.value for d in at.dataframe}
    [human] = [t for cols, t in tables.items() if "win rate" in cols]
    assert list(human["system"]) == ["policy"] and list(human[["won", "tied", "lost", "judged"]].iloc[0]) == [2, 1, 2, 5]
    assert human["win rate"].iloc[0] == pytest.approx(0.5) and 0 < human["low"].iloc[0] < 0.5 < human["high"].iloc[0] < 1
    [runs] = [t for cols, t in tables.items() if "this run" in cols]
    assert list(runs["run"]) == ["apptest", "other"] and list(runs["task"]) == ["sentiment", "tldr"]
    assert list(runs["this run"]) == [True, False] and runs["sim:sentiment"].iloc[1] == "65.0% [35.0%, 85.0%] (n=10)"
    assert any("skipped run broken" in h.value and "not valid JSON" in h.value for h in at.html)


def test_the_dashboard_without_evaluations_says_so(run):
    at = sign_in("root", "root-password")
    at.switch_page("routes/dashboard.py").run()
    assert not at.exception and not errors(at)
    infos = " ".join(i.value for i in at.info)
    assert "No comparison against zero-shot judged by people yet" in infos and "has been evaluated yet" in infos


def test_export_calls_label_export_with_the_runs_exports_folder(run, monkeypatch):
    calls = []

    def export_labels(store, out_dir, task_name=None):
        calls.append((store.url, out_dir))
        return {"best_of_4": out_dir / "best_of_4.jsonl"}

    monkeypatch.setitem(sys.modules, "rlhf.labeling.export", types.SimpleNamespace(export_labels=export_labels))
    at = sign_in("root", "root-password")
    at.switch_page("routes/dashboard.py").run()
    button(at, "Export labels").click().run()
    run_dir = run.config.parent
    assert calls == [(LabelStore(f"sqlite:///{run_dir / 'labels.db'}").url, run_dir / "exports")]
    assert "best_of_4.jsonl" in at.success[0].value


def test_export_writes_files_with_the_real_exporter(run):
    assert sys.modules["rlhf.labeling.export"] is real_export  # not the stand-in of the test above
    ann = run.store.labeler("ann")
    run.store.submit(ann.id, 1, choice=2, shown_order=[2, 0, 1, 3], seconds=3.0)
    at = sign_in("root", "root-password")
    at.switch_page("routes/dashboard.py").run()
    button(at, "Export labels").click().run()
    assert not errors(at) and at.success, [e.value for e in at.error]
    assert any((run.config.parent / "exports").iterdir())


def test_signing_out_forgets_the_labeler(run):
    at = sign_in("ann", "ann-password")
    at.button(key="sign_out").click().run()
    assert at.text_input(key="sign_in_name") and not [h for h in at.html if "rlhf-option" in h.value]
    assert "labeler" not in at.session_state


def test_a_labeler_steps_back_sees_the_choice_and_changes_it_by_a_correction(run):
    at = sign_in("ann", "ann-password")
    assert button(at, "↶ Previous").disabled  # nothing labeled in this session yet
    first, texts = on_screen(at)
    button_keys = [b.key for b in at.button if b.key and b.key.startswith("choose_")]
    at.button(key=button_keys[0]).click().run()  # the first continuation shown
    second, _ = on_screen(at)
    assert second != first
    at = button(at, "↶ Previous").click().run()
    batch, again = on_screen(at)
    assert (batch, again) == (first, texts)  # the item as it was shown, in the same order
    assert "Item 1 of the 1 you labeled in this session: you chose continuation 1" in at.info[0].value
    marked = [b for b in at.button if b.key and b.key.startswith("choose_")]
    assert [b.label for b in marked].count("Best ✓ your choice") == 1 and len(marked) == 4
    shown_order = run.store.labels()[0].shown_order
    at.button(key="choose_2").click().run()  # position 3 on screen: a correction that supersedes
    assert "Changed item 1: you now chose continuation 3." in [s.value for s in at.success]
    assert on_screen(at)[0] == second  # back to the item that was waiting
    effective = run.store.labels()
    assert len(effective) == 1 and effective[0].choice == shown_order[2] and effective[0].supersedes is not None
    assert len(run.store.labels(effective=False)) == 2  # the first label stays stored
    at = button(at, "↶ Previous").click().run()
    at = button(at, "Back to labeling (Esc)").click().run()  # unchanged
    assert on_screen(at)[0] == second and len(run.store.labels(effective=False)) == 2
