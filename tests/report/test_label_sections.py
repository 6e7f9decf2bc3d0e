"""The report's labels and human-evaluation sections, against figures worked out by hand (report_fixtures)."""

import pytest
from report_fixtures import fill_label_store, make_run, write_config

from rlhf.labeling.store import LabelStore
from rlhf.report.label_sections import labels_section
from rlhf.report.runs import load_run
from rlhf.report.write import write_report


def report_md(run) -> str:
    return write_report([run])["report.md"].read_text(encoding="utf-8")


def part(md: str, title: str) -> str:
    """The markdown of one section: from its heading to the next heading."""
    start = md.index(f"# {title}\n")
    end = md.find("\n<a id=", start)
    return md[start:end if end > 0 else len(md)]


def test_the_labels_section_shows_the_figures_worked_out_by_hand(tmp_path):
    run = make_run(tmp_path / "runs", "demo")
    fill_label_store(run)
    md = report_md(run)
    labels = part(md, "Labels")
    assert "11 labels of 5 sample batches by 3 labelers" in labels
    assert "| ann | human | 4 | 0 | 0 | 7.0 | 514 | 66.7% |" in labels
    assert "| bob | human | 4 | 1 | 0 | 40.0 | 90 | 66.7% |" in labels
    assert "| sim:sentiment | simulated | 2 | 0 | 0 | – | – | 50.0% |" in labels
    agreement = part(md, "Agreement between labelers")
    assert "| observed agreement | 75.0% | – | 4 pairs of choices on 4 batches |" in agreement
    assert "| agreement by chance | 25.0% |" in agreement
    assert "| Fleiss' κ | 0.65 | \\[" in agreement and "| 4 batches with 2 labelers each |" in agreement  # 15/23
    assert "| Krippendorff's α (nominal) | 0.70 | \\[" in agreement  # 16/23
    assert "Counted: ann, bob. Imported and simulated labelers (sim:sentiment) are left out" in agreement
    positions = part(md, "Position bias")
    assert "| ann | 4 | 75.0% (3) | 0.0% (0) | 0.0% (0) | 25.0% (1) | 0.112 |" in positions
    assert "| bob | 4 | 50.0% (2) | 25.0% (1) | 0.0% (0) | 25.0% (1) | 0.572 |" in positions
    assert "| sim:sentiment | 2 | 50.0% (1) | 0.0% (0) | 0.0% (0) | 50.0% (1) | 0.572 |" in positions
    assert "| all labelers | 10 | 60.0% (6) | 10.0% (1) | 0.0% (0) | 30.0% (3) | 0.038 |" in positions
    assert "each of the 4 positions gets about 25.0% of the choices" in positions
    assert ("Seconds per label over 9 timed labels: 25% within 8.0 s, 50% within 20.0 s, 75% within 40.0 s, "
            "90% within 60.0 s") in part(md, "Time per label")
    assert "No gold items" in part(md, "Gold items")


def test_gold_accuracy_comes_from_the_stores_gold_batches_with_wilson_intervals(tmp_path):
    run = make_run(tmp_path / "runs", "demo")
    fill_label_store(run)
    store = LabelStore.for_run(run)
    store.mark_gold([(1, 0), (3, 2), (5, 1)], "test")  # bob chose 0 on batch 3 and skipped batch 5 (not scored)
    store.engine.dispose()
    gold = next(section for section in labels_section(load_run(run), 2) if section.title == "Gold items")
    assert gold.blocks[0].rows == [["ann", "2", "2", "100.0%", "[34.2%, 100.0%]"], ["bob", "1", "2", "50.0%", "[9.5%, 90.5%]"],
                                   ["sim:sentiment", "1", "1", "100.0%", "[20.7%, 100.0%]"]]


def test_a_labeler_without_gold_answers_has_no_accuracy(tmp_path):
    run = make_run(tmp_path / "runs", "demo")
    fill_label_store(run)
    loaded = load_run(run)
    loaded.store.labels.gold = {"ann": (3, 4), "bob": (0, 0)}
    gold = next(section for section in labels_section(loaded, 2) if section.title == "Gold items")
    assert gold.blocks[0].rows[1] == ["bob", "0", "0", "–", "[–, –]"]


def test_a_run_without_a_store_or_labels_says_so(tmp_path, monkeypatch):
    run = make_run(tmp_path / "runs", "nostore")
    assert "This run has no label store." in part(report_md(run), "Labels")
    LabelStore.for_run(run).engine.dispose()  # an empty store
    assert "The label store holds no labels yet." in part(report_md(run), "Labels")
    monkeypatch.delenv("RLHF_DATABASE_URL", raising=False)
    write_config(run, "nostore", "sentiment", labeling={"database_url": "postgresql://ann:***@db.invalid/labels"})
    md = report_md(run)
    assert ("The label store postgresql://ann:\\*\\*\\*@db.invalid/labels is not read: its password is masked in this "
            "copy of the config; set RLHF\\_DATABASE\\_URL") in part(md, "Labels")


def judged_pairs(run, judged: bool) -> None:
    store = LabelStore.for_run(run)
    store.add_queries([{"id": "q1", "task": "sentiment", "prompt": "It was", "split": "eval"}])
    outcomes = [("policy", "zero-shot", "ann", "a"), ("zero-shot", "policy", "ann", "b"), ("zero-shot", "policy", "bo", "tie"),
                ("policy", "zero-shot", "bo", None), ("policy", "zero-shot", None, None)]
    for a, b, judge, winner in outcomes:
        store.add_comparison("q1", a, b, "x", "y", judge=judge if judged or winner is None else None,
                             winner=winner if judged else None)
    store.engine.dispose()


@pytest.mark.parametrize("evaluation", [True, False])
def test_the_human_evaluation_section_appears_when_people_judged_pairs(tmp_path, evaluation):
    run = make_run(tmp_path / "runs", "humans", evaluation=evaluation)
    assert "Human evaluation" not in report_md(run)  # no store
    judged_pairs(run, judged=False)
    assert "Human evaluation" not in report_md(run)  # pairs queued, none judged
    other = make_run(tmp_path / "other", "humans", evaluation=evaluation)
    judged_pairs(other, judged=True)
    md = report_md(other)
    assert "- [Human evaluation](#human-evaluation)" in md
    human = part(md, "Human evaluation")
    assert "People judged 3 pairs on the labeling app's Compare page; 2 are still open (1 shown to someone" in human
    assert "| policy | 83.3% | \\[" in human and "| 2 | 1 | 0 | 3 |" in human
    assert "| ann | 2 |" in human and "| bo | 1 |" in human
