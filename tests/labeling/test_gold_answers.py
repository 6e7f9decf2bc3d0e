"""Known answers for gold questions (rlhf/labeling/gold_answers.py): a JSONL file, checked whole, and a
simulated labeler at temperature 0 on batches nobody has seen, passing over ties at the top."""

import json

import pytest
from conftest import write

from rlhf.errors import DataError
from rlhf.labeling.gold_answers import read_gold_file, simulated_answers
from rlhf.labeling.store import LabelStore

HAPPY = [" It was a dull grey day.", " I love this wonderful, happy morning!", " It was awful and sad.", " The table."]
FLAT = [" The table.", " A chair.", " The door.", " A window."]  # VADER scores each 0: no single best


def test_a_gold_file_gives_batch_ids_and_best_indices(tmp_path):
    path = write(tmp_path / "gold.jsonl", '{"batch_id": 3, "best": 1}\n\n{"batch_id": 7, "best": 0, "labeler": "ann"}\n')
    assert read_gold_file(path) == [(3, 1), (7, 0)]


@pytest.mark.parametrize("line, needle", [('{"batch_id": 3}', "best=None"), ('{"batch_id": "3", "best": 1}', "batch_id='3'"),
                                          ('{"batch_id": 3, "best": -1}', "best=-1"), ('{"batch_id": 3, "best": true}', "best=True"),
                                          ("[3, 1]", "expected a JSON object"), ("{3: 1}", "not valid JSON")])
def test_a_bad_line_is_one_clear_error(tmp_path, line, needle):
    path = write(tmp_path / "gold.jsonl", '{"batch_id": 1, "best": 0}\n' + line + "\n")
    with pytest.raises(DataError, match="line 2") as error:
        read_gold_file(path)
    assert needle in str(error.value)


def test_an_empty_or_missing_file_is_refused(tmp_path):
    with pytest.raises(DataError, match="holds no gold answers"):
        read_gold_file(write(tmp_path / "empty.jsonl", "\n"))
    with pytest.raises(DataError, match="no such label file"):
        read_gold_file(tmp_path / "missing.jsonl")


def test_an_export_of_labels_serves_as_a_gold_file(tmp_path):
    from label_fixtures import labeled_store

    from rlhf.labeling.export import export_labels

    store = labeled_store(tmp_path / "labels.db")
    written = export_labels(store, tmp_path / "exports")
    rows = [json.loads(line) for line in written["best_of_4"].read_text().splitlines()]
    alice = write(tmp_path / "alice.jsonl", "".join(json.dumps(r) + "\n" for r in rows if r["labeler"] == "alice"))
    assert read_gold_file(alice) == [(1, 0), (2, 2), (3, 3)]


def test_a_simulated_labeler_at_temperature_zero_answers_unseen_untied_batches(tmp_path):
    store = LabelStore.for_run(tmp_path / "run")
    store.add_queries([{"id": f"q{i}", "task": "sentiment", "prompt": f"Prompt {i}."} for i in range(6)])
    for i in range(6):
        store.add_batch(f"q{i}", FLAT if i == 2 else HAPPY[i % 4:] + HAPPY[:i % 4], policy="base")
    store.next_assignment(store.add_labeler("ann", "password1").id)  # batch 1 has been handed out
    store.mark_gold([(6, 1)], "app:root")
    answers, tied = simulated_answers(store, "sentiment", n=10, seed=0)
    assert tied == 1  # batch 3, all four samples score the same
    assert sorted(answers) == [(2, 0), (4, 2), (5, 1)]  # the happy sample, wherever it is stored
    first, _ = simulated_answers(store, "sentiment", n=1, seed=0)
    again, _ = simulated_answers(store, "sentiment", n=1, seed=0)
    assert first == again and len(first) == 1  # the seed fixes which batches are asked
    with pytest.raises(DataError, match="--n must be positive"):
        simulated_answers(store, "sentiment", n=0)
    with pytest.raises(DataError, match="needs a reference|has none"):
        simulated_answers(store, "rouge", n=1)
