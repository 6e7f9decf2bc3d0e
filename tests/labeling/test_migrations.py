"""The label store's schema migrations (rlhf/migrations): new stores, pre-migration stores, drift."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.orm import Session

from rlhf.errors import RLHFError
from rlhf.labeling import migrations
from rlhf.labeling.engine import missing_sqlite_file
from rlhf.labeling.schema import AssignmentRow, Base, LabelRow, QueryRow
from rlhf.labeling.store import LabelStore, sqlite_url


def revision(url: str):
    if missing_sqlite_file(url):
        return None  # connecting would create an empty file, which opening a store then refuses
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return migrations.current_revision(conn)
    finally:
        engine.dispose()


def create_baseline_tables(engine) -> None:
    """What `Base.metadata.create_all` made before migrations: the tables of that time, not later ones."""
    Base.metadata.create_all(engine, tables=[Base.metadata.tables[name] for name in migrations.BASELINE_TABLES])
    with engine.begin() as conn:
        for index in LATER_INDEXES:
            conn.exec_driver_sql(f"DROP INDEX {index}")
        for table, column in LATER_COLUMNS:
            conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
        for index, table, column in REPLACED_INDEXES:
            conn.exec_driver_sql(f"CREATE INDEX {index} ON {table} ({column})")


# Added by later revisions (0004, 0006, 0007).
LATER_COLUMNS = [("comparisons", "claimed_at"), ("labelers", "must_change_password"),
                 ("sample_batches", "held_by_people"), ("sample_batches", "held_by_machines")]
LATER_INDEXES = ["ix_sample_batches_held", "ix_sample_batches_held_by_machines", "ix_assignments_labeler_id_done_batch_id",
                 "ix_labels_labeler_id_created_at_seconds"]  # 0007
REPLACED_INDEXES = [("ix_assignments_labeler_id", "assignments", "labeler_id"), ("ix_labels_labeler_id", "labels", "labeler_id")]  # by 0007
BATCH_0001 = ("INSERT INTO sample_batches (query_id, samples, policy, round, settings, seed, created_at) "
              "VALUES ('q0', '[\"a\", \"b\", \"c\", \"d\"]', 'base', 0, '{}', 0, CURRENT_TIMESTAMP)")  # the columns of 0001 to 0006


def old_style_store(path) -> str:
    """A store as LabelStore made it before migrations: create_all, rows, no alembic_version table."""
    url = sqlite_url(path)
    engine = create_engine(url)
    create_baseline_tables(engine)
    with engine.begin() as conn:  # the columns of that time: not through the ORM, which names later ones
        conn.exec_driver_sql("INSERT INTO labelers (name, role, active, created_at) VALUES ('ann', 'admin', 1, CURRENT_TIMESTAMP)")
    with Session(engine) as s, s.begin():
        s.add(QueryRow(id="q0", task="sentiment", prompt="Prompt 0."))
        s.flush()
        s.execute(text(BATCH_0001.replace("'{}'", "'{\"temperature\": 0.7}'")))
        s.add(LabelRow(batch_id=1, labeler_id=1, choice=2, shown_order=[3, 2, 1, 0], client_token="t1"))
    engine.dispose()
    return url


def test_a_new_store_is_at_the_head_revision(store_url):
    assert revision(store_url) is None
    LabelStore(store_url).engine.dispose()
    assert revision(store_url) == migrations.head_revision()


def test_a_store_from_before_migrations_is_stamped_and_keeps_its_rows(tmp_path):
    url = old_style_store(tmp_path / "labels.db")
    assert revision(url) is None
    store = LabelStore(url)
    assert revision(url) == migrations.head_revision()
    [label] = store.labels()
    assert (label.choice, label.shown_order, label.client_token) == (2, [3, 2, 1, 0], "t1")
    assert store.batch(1).settings == {"temperature": 0.7} and store.labeler("ann").is_admin
    # ...and it works on: new rows continue the ids, the old rows' constraints still hold.
    assert store.add_batch("q0", ["e", "f"], policy="base") == 2
    assert store.submit(1, 1, choice=0, client_token="t1") == label.id
    store.engine.dispose()
    assert LabelStore(url).labels()[0].id == label.id  # opening again changes nothing


def test_a_partial_store_without_a_revision_is_refused(tmp_path):
    url = sqlite_url(tmp_path / "labels.db")
    engine = create_engine(url)
    Base.metadata.tables["queries"].create(engine)
    engine.dispose()
    with pytest.raises(RLHFError, match="not labelers, sample_batches"):
        LabelStore(url)


def test_a_store_from_a_newer_rlhf_is_refused(store_url):
    LabelStore(store_url).engine.dispose()
    engine = create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(RLHFError, match="revision 9999, which this version of rlhf does not know"):
        LabelStore(store_url)


def test_the_migrations_make_exactly_the_models_schema(store_url):
    """Autogenerate finds nothing to do: the models and the migrations agree (add a migration!)."""
    LabelStore(store_url).engine.dispose()
    engine = create_engine(store_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert diff == [], f"rlhf/labeling/schema.py and rlhf/labeling/migrations differ: run `python -m rlhf.labeling.migrations revision ...`: {diff}"
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


def test_the_baseline_is_what_create_all_made(tmp_path):
    """Stamping pre-migration stores as 0001 is right only if 0001 builds what create_all built."""
    by_create_all = create_engine(sqlite_url(tmp_path / "a.db"))
    create_baseline_tables(by_create_all)
    by_migration = create_engine(sqlite_url(tmp_path / "b.db"))
    migrations.upgrade(by_migration, migrations.BASELINE)

    def schema(engine):
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT type, name, tbl_name, sql FROM sqlite_master "
                                     "WHERE tbl_name != 'alembic_version' ORDER BY type, name")).all()
        return [tuple(r) for r in rows]

    try:
        assert schema(by_migration) == schema(by_create_all)
    finally:
        by_create_all.dispose()
        by_migration.dispose()


def test_downgrade_to_nothing_and_back(store_url):
    from alembic import command

    LabelStore(store_url).engine.dispose()
    engine = create_engine(store_url)
    try:
        with engine.begin() as conn:
            command.downgrade(migrations.alembic_config(conn), "base")
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    store = LabelStore(store_url)
    assert store.add_queries([{"id": "q", "task": "t", "prompt": "p"}]) == 1
    store.engine.dispose()


def test_stores_opened_at_once_on_a_new_database_migrate_it_once(store_url):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:  # the app's server threads, a trainer, a CLI command
        stores = list(pool.map(lambda _: LabelStore(store_url), range(4)))
    assert revision(store_url) == migrations.head_revision()
    assert stores[0].add_queries([{"id": "q", "task": "t", "prompt": "p"}]) == 1
    assert stores[3].query("q").prompt == "p"
    for store in stores:
        store.engine.dispose()


def test_a_store_at_0004_gains_gold_questions_and_keeps_its_rows(store_url):
    """Revision 0005 adds gold_batches to a store of the previous revision; its labels, assignments and
    comparisons stay, and its batches become gold candidates."""
    engine = create_engine(store_url)
    migrations.upgrade(engine, "0004")
    with engine.begin() as conn:  # the columns of 0004: not through the ORM, which names later ones (0006)
        conn.exec_driver_sql("INSERT INTO labelers (name, role, active, created_at) VALUES ('ann', 'admin', true, CURRENT_TIMESTAMP)")
    with Session(engine) as s, s.begin():
        s.add(QueryRow(id="q0", task="sentiment", prompt="Prompt 0."))
        s.flush()
        for _ in range(2):
            s.execute(text(BATCH_0001))
        s.add(LabelRow(batch_id=1, labeler_id=1, choice=2, shown_order=[3, 2, 1, 0], client_token="t1"))
    with engine.connect() as conn:
        assert not inspect(conn).has_table("gold_batches") and migrations.current_revision(conn) == "0004"
    engine.dispose()
    store = LabelStore(store_url)
    assert revision(store_url) == migrations.head_revision() == "0007"
    [label] = store.labels()
    assert (label.batch_id, label.choice, label.client_token) == (1, 2, "t1")
    assert store.gold_answers() == {} and store.mark_gold([(1, 2), (2, 0)], "app:ann") == 2
    assert store.gold_tallies() == {"ann": (1, 1)}  # the label from before the upgrade is scored too
    assert store.authenticate("ann", "x") is None and not store.labeler("ann").must_change_password  # 0006's default
    store.engine.dispose()


def test_a_store_at_0006_counts_each_batchs_holders_by_kind(store_url):
    """Revision 0007 counts each batch's assignments by people (a password) and by machines into the
    columns next_assignment reads, so a batch two people hold stays closed to a third at k = 2."""
    engine = create_engine(store_url)
    migrations.upgrade(engine, "0006")
    with engine.begin() as conn:  # the columns of 0006: not through the ORM, which names later ones (0007)
        conn.exec_driver_sql("INSERT INTO labelers (name, password_hash, role, active, must_change_password, created_at) "
                             "VALUES ('ann', 'hash', 'labeler', true, false, CURRENT_TIMESTAMP), "
                             "('bob', 'hash', 'labeler', true, false, CURRENT_TIMESTAMP), "
                             "('sim:x', NULL, 'labeler', true, false, CURRENT_TIMESTAMP), "
                             "('cy', 'hash', 'labeler', true, false, CURRENT_TIMESTAMP)")
    with Session(engine) as s, s.begin():
        s.add(QueryRow(id="q0", task="sentiment", prompt="Prompt 0."))
        s.flush()
        for _ in range(3):
            s.execute(text(BATCH_0001))
        s.add_all([AssignmentRow(batch_id=batch, labeler_id=labeler, shown_order=[0, 1, 2, 3], done=True)
                   for batch, labeler in ((1, 1), (1, 2), (1, 3), (2, 3))])
    engine.dispose()
    store = LabelStore(store_url)
    with store.session() as s:
        held = s.execute(text("SELECT id, held_by_people, held_by_machines FROM sample_batches ORDER BY id")).all()
    assert [tuple(row) for row in held] == [(1, 2, 1), (2, 0, 1), (3, 0, 0)]
    assert store.next_assignment(4, labelers_per_batch=2, count_machines=False).batch_id == 2  # batch 1: two people
    store.engine.dispose()
