"""Property tests of the best-of-n label importer.

Valid records, mutated (keys dropped, values of the wrong type, choices out of range, junk lines),
either import or are refused with one `DataError` naming the line - never another exception - and
a refused file stores nothing at all: the import is atomic.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from label_fixtures import table_counts

from rlhf.errors import DataError, RLHFError
from rlhf.labeling.importer import import_best_of_4
from rlhf.labeling.store import LabelStore, sqlite_url

# RLHF_HYPOTHESIS_EXAMPLES=2000 for a longer hunt; 50 keeps the suite quick.
SETTINGS = settings(max_examples=int(os.environ.get("RLHF_HYPOTHESIS_EXAMPLES", 50)), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
GOOD = {"query": "Once upon a time.", "sample0": " a", "sample1": " b", "sample2": " c", "sample3": " d", "best": 1}
KEYS = ["query", "sample0", "sample1", "sample2", "sample3", "sample4", "best", "query_id", "reference", "labeler",
        "policy", "split", "round", "seed", "settings", "shown_order", "seconds", "created_at", "batch_id"]

TRICKY_TEXT = st.sampled_from(["", " ", "\ud800", "\udfff x", "caf\u00e9", "\x00", "x" * 300, "2024-01-01T00:00:00",
                               "not a date", "q1", "import", "train", "eval"])
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-2, 5), st.sampled_from([2**31, -(2**31) - 1, 2**70]),
                         st.floats(), st.text(max_size=10), TRICKY_TEXT)
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                 st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                           max_leaves=6)

TEXT_KEYS = ["query", "sample0", "sample1", "query_id", "reference", "labeler", "policy", "split", "created_at"]
INT_KEYS = ["best", "round", "seed", "batch_id", "seconds"]
MUTATION = st.one_of(
    st.tuples(st.just("drop"), st.sampled_from(KEYS)),
    st.tuples(st.just("set"), st.sampled_from(KEYS), JSON_VALUES),
    st.tuples(st.just("set"), st.sampled_from(TEXT_KEYS), TRICKY_TEXT),
    st.tuples(st.just("set"), st.sampled_from(INT_KEYS),
              st.sampled_from([2**31, -(2**31) - 1, 2**63, 2**70, 10**400, float("nan"), float("inf"), -1])),
    st.tuples(st.just("best"), st.integers(-3, 6)),
    st.tuples(st.just("order"), st.permutations(range(4)).map(list) | st.lists(st.integers(-1, 5), max_size=5)),
)
RECORD = st.tuples(st.text(min_size=1, max_size=6), st.lists(MUTATION, max_size=2))
JUNK = st.tuples(st.just("junk"), st.one_of(st.text(max_size=20), TRICKY_TEXT), st.none())
LINE = st.one_of(RECORD, RECORD, RECORD, JUNK)


def render(line) -> str:
    if len(line) == 3:  # a junk line, not a record
        return line[1].replace("\n", " ")
    query, mutations = line
    obj = {**GOOD, "query": query}
    for mutation in mutations:
        if mutation[0] == "drop":
            obj.pop(mutation[1], None)
        elif mutation[0] == "set":
            obj[mutation[1]] = mutation[2]
        elif mutation[0] == "best":
            obj["best"] = mutation[1]
        else:
            obj["shown_order"] = mutation[1]
    return json.dumps(obj)  # NaN and Infinity come out as JSON's common extension, which json.loads reads


def seeded_store(folder: Path) -> LabelStore:
    """A store holding one label already, so that "nothing stored" is a real check."""
    store = LabelStore(sqlite_url(folder / "labels.db"))
    seed = folder / "seed.jsonl"
    seed.write_text(json.dumps({**GOOD, "query": "Seeded.", "labeler": "ann"}) + "\n", encoding="utf-8")
    assert import_best_of_4(store, seed, "sentiment", progress=False) == 1
    return store


@SETTINGS
@given(st.lists(LINE, min_size=1, max_size=4))
# Lines that once failed half way through a write, or as other exceptions than DataError.
@example([("Q.", []), ("R.", [("set", "query", "\ud800")])])
@example([("Q.", []), ("R.", [("set", "round", 2**64)])])
@example([("Q.", [("drop", "query"), ("set", "batch_id", 2**70)])])
@example([("Q.", [("set", "seconds", 10**400)])])
@example([("Q.", [("set", "labeler", "x" * 300)])])
def test_mutated_label_files_import_or_are_refused_naming_the_line_and_store_nothing(lines):
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        store = seeded_store(folder)
        path = folder / "labels.jsonl"
        path.write_text("".join(render(line) + "\n" for line in lines), encoding="utf-8", errors="surrogatepass")
        before = table_counts(store)
        try:
            added = import_best_of_4(store, path, "sentiment", progress=False)
        except DataError as exc:
            message = str(exc)
            assert re.search(rf"{re.escape(str(path))}, line \d+", message) or "holds no labels" in message, message
            assert "nothing was imported" in message
            assert table_counts(store) == before, f"a refused import stored something: {message}"
        except RLHFError as exc:  # the store's own refusals must come before any write too
            assert table_counts(store) == before, f"a refused import stored something: {exc}"
        else:
            assert table_counts(store)["labels"] == before["labels"] + added
            # Importing the same file again adds nothing.
            assert import_best_of_4(store, path, "sentiment", progress=False) == 0
        finally:
            store.engine.dispose()


@SETTINGS
@given(st.binary(max_size=60))
def test_any_bytes_are_refused_with_a_line_or_imported(raw):
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        store = seeded_store(folder)
        path = folder / "labels.jsonl"
        path.write_bytes(raw)
        before = table_counts(store)
        try:
            import_best_of_4(store, path, "sentiment", progress=False)
        except DataError as exc:
            assert re.search(r", line \d+", str(exc)) or "holds no labels" in str(exc), str(exc)
            assert table_counts(store) == before
        finally:
            store.engine.dispose()
