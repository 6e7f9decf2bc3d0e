"""Shared fixtures: tiny models saved as local directories, the real data folder, an in-process CLI."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

from rlhf.models.offline import cache_root

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# The user's real model cache, read before any test points RLHF_CACHE elsewhere: the real offline
# model is pulled there once and reused by later test runs.
REAL_CACHE = cache_root()
# A PostgreSQL URL whose user may create databases (.ci/postgres.sh start prints one); unset: the
# PostgreSQL variants of the store tests are skipped.
POSTGRES_URL_ENV = "RLHF_TEST_POSTGRES_URL"
NO_POSTGRES = f"no PostgreSQL server: set {POSTGRES_URL_ENV} or run .ci/postgres.sh start"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (it sits beside the checkout on project machines)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory) -> Path:
    from rlhf.models.tiny import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("tiny") / "gpt2", "gpt2")


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory) -> Path:
    from rlhf.models.tiny import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("tiny") / "llama", "llama")


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """No test writes to the user's model cache unless it asks for the real one."""
    monkeypatch.setenv("RLHF_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def cli(capsys):
    """Run `rlhf ARGS...` in-process; returns (exit code, stdout, stderr)."""
    from rlhf.cli import main

    def run(*args: str):
        with pytest.raises(SystemExit) as exit_info:
            main([str(a) for a in args])
        out, err = capsys.readouterr()
        return exit_info.value.code, out, err

    return run


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request, tmp_path):
    """The URL of a new, empty label store: SQLite (run/labels.db under tmp_path), then a new
    PostgreSQL database made for this test through RLHF_TEST_POSTGRES_URL and dropped after it."""
    if request.param == "sqlite":
        from rlhf.labeling.store import sqlite_url

        (tmp_path / "run").mkdir(exist_ok=True)
        yield sqlite_url(tmp_path / "run" / "labels.db")
        return
    server_url = os.environ.get(POSTGRES_URL_ENV)
    if not server_url:
        pytest.skip(NO_POSTGRES)
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    name = f"rlhf_test_{uuid.uuid4().hex[:16]}"
    server = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with server.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:  # FORCE: the test's engines may still hold connections
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()
