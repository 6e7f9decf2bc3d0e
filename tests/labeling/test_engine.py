"""The store's database connection: which SQLite file a URL would create."""

import pytest

from rlhf.labeling.engine import missing_sqlite_file
from rlhf.labeling.store import DatabaseError, LabelStore
from rlhf.run.layout import sqlite_url


@pytest.fixture
def store(store_url):
    return LabelStore(store_url)


def test_missing_sqlite_file_names_only_an_sqlite_file_not_made_yet(store, tmp_path):
    assert missing_sqlite_file(store.url) is None  # an open store's own file, or not SQLite
    assert missing_sqlite_file(sqlite_url(tmp_path / "none" / "labels.db")) == tmp_path / "none" / "labels.db"
    assert missing_sqlite_file("sqlite://") is None and missing_sqlite_file("sqlite:///:memory:") is None
    assert missing_sqlite_file("postgresql://ann@127.0.0.1:1/labels") is None
    with pytest.raises(DatabaseError):
        missing_sqlite_file("not a database url")
