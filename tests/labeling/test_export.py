"""Exports of the label store: best-of-n rows, TRL pairs, datasets on disk, the summary."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from label_fixtures import labeled_store

from rlhf.errors import RLHFError
from rlhf.labeling.export import export_labels


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def exported(tmp_path):
    store = labeled_store(tmp_path / "labels.db")
    return store, export_labels(store, tmp_path / "exports")


def test_only_effective_choices_are_exported(exported):
    _, paths = exported
    rows = read_jsonl(paths["best_of_4"])
    # alice's corrected label (choice 1 -> 0), her two others and bob's; carol skipped, dave flagged.
    assert [(r["labeler"], r["query_id"], r["best"]) for r in rows] == [
        ("alice", "q0", 0), ("alice", "q1", 2), ("alice", "q2", 3), ("bob", "q0", 2)]


def test_row_format(exported):
    _, paths = exported
    row = read_jsonl(paths["best_of_4"])[0]
    assert list(row) == ["batch_id", "query_id", "query", "reference", "split", "sample0", "sample1", "sample2",
                         "sample3", "best", "labeler", "policy", "round", "seed", "settings", "shown_order",
                         "seconds", "created_at"]
    assert row["query"] == "Article: the council met.\n\nTL;DR:" and row["reference"] == "Council met."
    assert row["sample0"] == " The council met." and row["policy"] == "base" and row["seed"] == 3
    assert row["shown_order"] == [3, 1, 0, 2] and row["seconds"] == 12.5  # kept from the corrected label
    assert row["settings"]["max_new_tokens"] == 75
    assert datetime.fromisoformat(row["created_at"]).tzinfo is not None


def test_pairs_are_three_per_label_with_the_chosen_text(exported):
    _, paths = exported
    rows, pairs = read_jsonl(paths["best_of_4"]), read_jsonl(paths["pairs"])
    assert len(pairs) == 3 * len(rows)
    for i, row in enumerate(rows):
        mine = pairs[3 * i: 3 * i + 3]
        chosen = row[f"sample{row['best']}"]
        assert {p["chosen"] for p in mine} == {chosen}
        assert sorted(p["rejected"] for p in mine) == sorted(row[f"sample{j}"] for j in range(4) if j != row["best"])
        assert {(p["prompt"], p["batch_id"], p["labeler"]) for p in mine} == {(row["query"], row["batch_id"], row["labeler"])}


def test_datasets_on_disk_equal_the_jsonl(exported):
    from datasets import load_from_disk

    _, paths = exported
    rows = load_from_disk(str(paths["best_of_4_dataset"])).to_list()
    for row in rows:
        row["settings"] = json.loads(row["settings"])  # a JSON string in Arrow: its keys vary by policy
    assert rows == read_jsonl(paths["best_of_4"])
    assert load_from_disk(str(paths["pairs_dataset"])).to_list() == read_jsonl(paths["pairs"])
    assert set(load_from_disk(str(paths["pairs_dataset"])).column_names) >= {"prompt", "chosen", "rejected"}


def test_summary_counts_what_was_left_out(exported):
    _, paths = exported
    summary = json.loads(paths["summary"].read_text())
    assert summary["labels"] == 4 and summary["pairs"] == 12
    assert (summary["skipped"], summary["flagged"], summary["superseded"]) == (1, 1, 1)
    assert summary["labelers"] == ["alice", "bob"] and summary["batches"] == 3


def test_export_again_replaces_files_and_leaves_no_temporaries(tmp_path, exported):
    store, paths = exported
    store.submit(store.ensure_labeler("erin").id, 2, choice=1)
    again = export_labels(store, tmp_path / "exports")
    assert len(read_jsonl(again["best_of_4"])) == 5
    from datasets import load_from_disk

    assert len(load_from_disk(str(again["best_of_4_dataset"]))) == 5
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == [
        "best_of_4", "best_of_4.jsonl", "pairs", "pairs.jsonl", "summary.json"]


def test_task_filter_and_an_empty_export(tmp_path, exported):
    store, _ = exported
    paths = export_labels(store, tmp_path / "other", task_name="sentiment")
    assert paths["best_of_4"].read_text() == "" and paths["pairs"].read_text() == ""
    assert json.loads(paths["summary"].read_text())["labels"] == 0
    assert len(read_jsonl(export_labels(store, tmp_path / "tldr", task_name="tldr")["best_of_4"])) == 4


def test_batches_of_different_sizes_are_refused(tmp_path, exported):
    store, _ = exported
    batch = store.add_batch("q0", ["a", "b", "c"], "base")
    store.submit(store.ensure_labeler("erin").id, batch, choice=0)
    with pytest.raises(RLHFError, match="different sizes"):
        export_labels(store, tmp_path / "mixed")
    assert not (tmp_path / "mixed").exists()
