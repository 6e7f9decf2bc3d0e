"""Shared fixtures: tiny models saved as local directories, the real data folder, an in-process CLI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

from rlhf.offline_models import cache_root

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# The user's real model cache, read before any test points RLHF_CACHE elsewhere: the real offline
# model is pulled there once and reused by later test runs.
REAL_CACHE = cache_root()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (it sits beside the checkout on project machines)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory) -> Path:
    from rlhf.tiny_models import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("tiny") / "gpt2", "gpt2")


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory) -> Path:
    from rlhf.tiny_models import save_tiny_model

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
