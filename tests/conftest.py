"""Shared fixtures: tiny models saved as local directories, the real data folder, an in-process CLI."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

from rlhf.models.offline import cache_root

# The device every test's `model.device: auto` means, here and in the processes tests start:
# RLHF_TEST_DEVICE=cuda make test runs the training tests on the GPU; by default they run on the CPU,
# on any machine, so a GPU machine passes the same suite the CPU CI does.
TEST_DEVICE = os.environ.get("RLHF_TEST_DEVICE", "cpu").strip() or "cpu"
os.environ["RLHF_DEVICE"] = TEST_DEVICE

# The real data folder: ../shared/data beside the checkout, or where RLHF_SHARED_DATA says (.ci/run
# checks the same variable; pointing it at a missing folder shows what CI does without the data).
SHARED_DATA_ENV = "RLHF_SHARED_DATA"
SHARED_DATA = Path(os.environ.get(SHARED_DATA_ENV) or Path(__file__).resolve().parents[1].parent / "shared" / "data").resolve()
# The user's real model cache, read before any test points RLHF_CACHE elsewhere: the real offline
# model is pulled there once and reused by later test runs.
REAL_CACHE = cache_root()
# A PostgreSQL URL whose user may create databases (.ci/postgres.sh start prints one); unset: the
# PostgreSQL variants of the store tests are skipped (outside CI).
POSTGRES_URL_ENV = "RLHF_TEST_POSTGRES_URL"
NO_POSTGRES = f"no PostgreSQL server: set {POSTGRES_URL_ENV} or run .ci/postgres.sh start (.ci/run starts one)"
NO_SHARED_DATA = (f"the real data folder {SHARED_DATA} is absent: it sits beside the checkout (../shared/data) on "
                  f"project machines and in CI, which checks it before the tests; {SHARED_DATA_ENV} names another place")


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def require(condition: bool, reason: str) -> None:
    """Skip the calling test when `condition` is false, saying `reason` (what is missing and how to get it).

    Under CI=true it fails instead: CI provides the data folder, Chromium and PostgreSQL, so there a
    missing one is a broken CI machine, and a skip would let the suite pass without its tests."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"CI=true, and a test needs what CI must provide: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    require(SHARED_DATA.is_dir(), NO_SHARED_DATA)
    return SHARED_DATA


@pytest.fixture(scope="session")  # session: checked before the module-scoped servers and drivers start
def browser():
    """Headless Chromium and chromedriver on the PATH, and selenium (labeling_app.browser finds them)."""
    from labeling_app.browser import browser_missing

    missing = browser_missing()
    require(missing is None, f"no browser: {missing}; .ci/run installs Chromium and chromedriver")


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory) -> Path:
    from rlhf.models.tiny import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("tiny") / "gpt2", "gpt2")


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory) -> Path:
    from rlhf.models.tiny import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("tiny") / "llama", "llama")


@pytest.fixture(scope="session")
def tiny_reward_model(tmp_path_factory, tiny_gpt2) -> Path:
    """An untrained reward model (head and normalisation) on the tiny GPT-2, saved as `rlhf train-reward` saves one."""
    from reward.model import build_reward_model, save_reward_model
    from rlhf.models.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(str(tiny_gpt2), padding_side="right")
    path = tmp_path_factory.mktemp("tiny") / "reward_model"
    save_reward_model(build_reward_model(str(tiny_gpt2), tokenizer), tokenizer, path)
    return path


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
    require(bool(server_url), NO_POSTGRES)
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
        _drop_database(server, name)
        server.dispose()


def _drop_database(server, name: str, attempts: int = 10) -> None:
    """Drop a test database. FORCE, since the test's engines may still hold connections. On a
    server where the test user lacks pg_signal_backend, an autovacuum worker on the database makes
    FORCE refuse; it ends within moments, so try again."""
    from sqlalchemy.exc import ProgrammingError

    for attempt in range(attempts):
        try:
            with server.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except ProgrammingError as error:
            if "pg_signal_backend" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.5 * (attempt + 1))
