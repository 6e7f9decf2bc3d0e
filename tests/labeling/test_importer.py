"""Imports of best-of-n labels: round trips through export, idempotence, bad input, OpenAI's files."""

from __future__ import annotations

import json
import shutil

import pytest
from label_fixtures import labeled_store, table_counts

from rlhf.errors import DataError
from rlhf.labeling.export import export_labels
from rlhf.labeling.importer import import_best_of_4, import_openai_labels
from rlhf.labeling.store import LabelStore, sqlite_url

# Store-assigned: a batch's id depends on what the store already held.
STORE_ASSIGNED = ("batch_id",)


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def without(rows, fields=STORE_ASSIGNED):
    return [{k: v for k, v in row.items() if k not in fields} for row in rows]


def fresh(tmp_path, name="fresh.db") -> LabelStore:
    return LabelStore(sqlite_url(tmp_path / name))


@pytest.fixture
def export_a(tmp_path):
    store = labeled_store(tmp_path / "a.db")
    return store, export_labels(store, tmp_path / "export_a")


def test_round_trip_loses_nothing(tmp_path, export_a):
    _, paths = export_a
    b = fresh(tmp_path)
    assert import_best_of_4(b, paths["best_of_4"], "tldr") == 4
    again = export_labels(b, tmp_path / "export_b")
    assert without(read_jsonl(again["best_of_4"])) == without(read_jsonl(paths["best_of_4"]))
    assert without(read_jsonl(again["pairs"]), ("batch_id",)) == without(read_jsonl(paths["pairs"]), ("batch_id",))
    # Two labelers on one batch stay one batch; queries keep their ids, task, split and reference.
    assert table_counts(b)["sample_batches"] == 3
    q1 = b.query("q1")
    assert (q1.task, q1.split, q1.reference) == ("tldr", "eval", None)


def test_importing_twice_changes_nothing(tmp_path, export_a):
    store_a, paths = export_a
    b = fresh(tmp_path)
    import_best_of_4(b, paths["best_of_4"], "tldr")
    counts = table_counts(b)
    assert import_best_of_4(b, paths["best_of_4"], "tldr") == 0
    assert table_counts(b) == counts
    # A re-export of the imported labels, and the original store's own labels, are recognised too.
    assert import_best_of_4(b, export_labels(b, tmp_path / "export_b")["best_of_4"], "tldr") == 0
    counts_a = table_counts(store_a)
    assert import_best_of_4(store_a, paths["best_of_4"], "tldr") == 0
    assert table_counts(store_a) == counts_a


def test_minimal_lines_take_defaults(tmp_path):
    path = tmp_path / "minimal.jsonl"
    line = {"query": "Once upon a time", "sample0": " a", "sample1": " b", "sample2": " c", "sample3": " d", "best": 2}
    path.write_text(json.dumps(line) + "\n\n", encoding="utf-8")  # blank lines are ignored
    store = fresh(tmp_path)
    assert import_best_of_4(store, path, "sentiment") == 1
    (label,) = store.labels()
    batch = store.batch(label.batch_id)
    query = store.query(batch.query_id)
    assert batch.query_id.startswith("q-") and query.prompt == "Once upon a time" and query.task == "sentiment"
    assert (batch.policy, store.labeler("import").id, label.choice) == ("import", label.labeler_id, 2)


def test_five_samples_per_line_work_when_consistent(tmp_path):
    path = tmp_path / "five.jsonl"
    rows = [{"query": f"q{i}", **{f"sample{j}": f"s{j}" for j in range(5)}, "best": 4} for i in range(2)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    store = fresh(tmp_path)
    assert import_best_of_4(store, path, "sentiment") == 2
    assert [len(store.batch(l.batch_id).samples) for l in store.labels()] == [5, 5]


def test_a_line_may_label_a_stored_batch_by_id(tmp_path, export_a):
    store, _ = export_a
    path = tmp_path / "by_id.jsonl"
    path.write_text(json.dumps({"batch_id": 3, "best": 1, "labeler": "erin", "seconds": 2}) + "\n", encoding="utf-8")
    assert import_best_of_4(store, path, "tldr") == 1
    label = store.labels()[-1]
    assert (label.batch_id, label.choice, label.seconds) == (3, 1, 2.0)


GOOD = {"query": "Q", "sample0": "a", "sample1": "b", "sample2": "c", "sample3": "d", "best": 0}
BAD_LINES = {
    "missing field": ({k: v for k, v in GOOD.items() if k != "best"}, "best", "missing"),
    "missing query": ({k: v for k, v in GOOD.items() if k != "query"}, "query", "missing"),
    "empty query": ({**GOOD, "query": ""}, "query", "is empty"),
    "blank query": ({**GOOD, "query": " \n "}, "query", "is empty"),
    "best out of range": ({**GOOD, "best": 4}, "best", "out of range"),
    "best not an integer": ({**GOOD, "best": "1"}, "best", "must be an integer"),
    "best a float": ({**GOOD, "best": 1.0}, "best", "must be an integer"),
    "wrong sample count": ({k: v for k, v in GOOD.items() if k != "sample3"}, "sample3", "found 3 samples"),
    "sample not text": ({**GOOD, "sample1": 7}, "sample1", "must be a string"),
    "unknown batch id": ({"batch_id": 999, "best": 0}, "batch_id", "unknown batch id 999"),
    "bad shown order": ({**GOOD, "shown_order": [0, 0, 1, 2]}, "shown_order", "ordering"),
    "bad created_at": ({**GOOD, "created_at": "yesterday"}, "created_at", "ISO"),
    "prompt clash": ({**GOOD, "query_id": "q0", "query": "another prompt"}, "query", "different prompt"),
}


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_bad_lines_import_nothing(tmp_path, export_a, case):
    store, _ = export_a
    bad, field, problem = BAD_LINES[case]
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({**GOOD, "query": "fine"}) + "\n" + json.dumps(bad) + "\n" + json.dumps(GOOD) + "\n",
                    encoding="utf-8")
    before = table_counts(store)
    with pytest.raises(DataError) as caught:
        import_best_of_4(store, path, "tldr")
    message = str(caught.value)
    assert f"{path}, line 2, field '{field}'" in message and problem in message and "nothing was imported" in message
    assert table_counts(store) == before


@pytest.mark.parametrize("raw, problem", [
    (b'{"query": "Q", "best": \n', "not valid JSON"),
    ('{"query": "caf\u00e9"}\n'.encode("latin-1"), "not valid UTF-8"),
    (b'[1, 2]\n', "expected a JSON object"),
])
def test_unreadable_lines_import_nothing(tmp_path, export_a, raw, problem):
    store, _ = export_a
    path = tmp_path / "bad.jsonl"
    path.write_bytes(json.dumps(GOOD).encode() + b"\n" + raw)
    before = table_counts(store)
    with pytest.raises(DataError, match=f"line 2: {problem}"):
        import_best_of_4(store, path, "tldr")
    assert table_counts(store) == before


def test_a_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no such label file"):
        import_best_of_4(fresh(tmp_path), tmp_path / "nope.jsonl", "tldr")


# -- OpenAI's label files -----------------------------------------------------------------------

TEXTS = [
    ("He looked at the old house and", [" smiled.", " frowned at the rain.", " — “wow” — left.", " went in\nagain."], 2),
    ("The café was quiet that morning;", [" naïve.", " the coffee was hot.", " 日本語.", " nobody came."], 0),
]
PAD = 50259  # OpenAI padded queries and samples with ids past GPT-2's vocabulary


@pytest.fixture(scope="module")
def gpt2(shared_data, tmp_path_factory):
    """The real GPT-2 BPE loaded the documented way: a copy of the folder plus a tokenizer_config.json."""
    from transformers import AutoTokenizer

    folder = tmp_path_factory.mktemp("gpt2")  # never write into the shared folder
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(shared_data / "gpt2_tokenizer" / name, folder / name)
    (folder / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "GPT2Tokenizer"}))
    return AutoTokenizer.from_pretrained(str(folder))


def openai_records(tokenizer):
    encode = lambda text: tokenizer.encode(text, add_special_tokens=False)
    return [{"query": [PAD, PAD] + encode(query), **{f"sample{i}": encode(s) + [PAD] * 3 for i, s in enumerate(samples)},
             "best": best} for query, samples, best in TEXTS]


@pytest.mark.parametrize("form", ["json", "jsonl"])
def test_openai_labels_decode_to_the_original_texts(tmp_path, shared_data, gpt2, form):
    records = openai_records(gpt2)
    assert records[0]["sample0"] != gpt2.encode(" smiled.")  # the padding really is there
    path = tmp_path / f"offline.{form}"
    path.write_text(json.dumps(records) if form == "json" else "".join(json.dumps(r) + "\n" for r in records))
    store = fresh(tmp_path)
    # The importer reads the bare vocab.json + merges.txt of the shared folder itself.
    assert import_openai_labels(store, path, shared_data / "gpt2_tokenizer", "sentiment") == 2
    for label, (query, samples, best) in zip(store.labels(), TEXTS):
        batch = store.batch(label.batch_id)
        assert store.query(batch.query_id).prompt == query
        assert batch.samples == samples and label.choice == best and batch.policy == "openai-gpt2"
        assert PAD not in batch.sample_token_ids[0]
    assert import_openai_labels(store, path, shared_data / "gpt2_tokenizer", "sentiment") == 0


@pytest.mark.parametrize("change, field, problem", [
    ({"best": 4}, "best", "out of range"),
    ({"sample2": "text"}, "sample2", "list of integer token ids"),
    ({"query": None}, "query", "list of integer token ids"),
    ({"query": [PAD, PAD]}, "query", "is empty"),
])
def test_bad_openai_records_import_nothing(tmp_path, shared_data, gpt2, change, field, problem):
    records = openai_records(gpt2)
    records[1].update(change)
    path = tmp_path / "offline_5k.json"
    path.write_text(json.dumps(records))
    store = fresh(tmp_path)
    with pytest.raises(DataError, match=f"record 2, field '{field}': .*{problem}"):
        import_openai_labels(store, path, shared_data / "gpt2_tokenizer", "sentiment")
    assert table_counts(store)["labels"] == 0 and table_counts(store)["queries"] == 0


def test_a_folder_without_a_tokenizer_is_a_data_error(tmp_path):
    path = tmp_path / "labels.json"
    path.write_text("[]")
    with pytest.raises(DataError, match="vocab.json and merges.txt"):
        import_openai_labels(fresh(tmp_path), path, tmp_path, "sentiment")


def test_one_labeler_labeling_a_batch_twice_differently_imports_nothing(tmp_path):
    line = {"query": "Q.", "sample0": "a", "sample1": "b", "sample2": "c", "sample3": "d", "labeler": "ann"}
    path = tmp_path / "twice.jsonl"
    path.write_text("\n".join(json.dumps({**line, "best": best}) for best in (0, 2)) + "\n")
    store = fresh(tmp_path)
    with pytest.raises(DataError, match="line 2.*'ann' already labels this batch on .*line 1"):
        import_best_of_4(store, path, "sentiment", progress=False)
    assert store.labels(effective=False) == [] and store.count_batches() == 0
    path.write_text(json.dumps({**line, "best": 1}) + "\n")
    assert import_best_of_4(store, path, "sentiment", progress=False) == 1
    path.write_text(json.dumps({**line, "best": 3}) + "\n")  # differs from what the store holds for ann
    with pytest.raises(DataError, match="already has a different label for this batch"):
        import_best_of_4(store, path, "sentiment", progress=False)
    assert [l.choice for l in store.labels()] == [1]
