"""Database credentials stay out of the run directory's config copy, logs and error messages, while the
running commands and the app still use the real URL (RLHF_DATABASE_URL carries it)."""

import argparse
import types
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from rlhf import pipeline
from rlhf.cli import labeling as labeling_commands
from rlhf.config.run_config import config_yaml, load_config
from rlhf.config.secrets import DATABASE_URL_ENV, mask_url, redact, unmask_database_url, url_password
from rlhf.errors import ConfigError
from rlhf.report.label_store import read_label_store

SECRET = "S3cret-pw"
REAL = f"postgresql+psycopg://ann:{SECRET}@127.0.0.1:1/labels"  # port 1: nothing listens, refused at once
MASKED = "postgresql+psycopg://ann:***@127.0.0.1:1/labels"
APP = str(Path(__file__).resolve().parents[2] / "labeling_app" / "app.py")


@pytest.mark.parametrize("url, masked", [
    (REAL, MASKED),
    ("postgresql://user:pw@db.example.org:5432/rlhf?sslmode=require", "postgresql://user:***@db.example.org:5432/rlhf?sslmode=require"),
    ("mysql+pymysql://u:p%40ss@host/db", "mysql+pymysql://u:***@host/db"),
    ("postgresql://user@host/db", "postgresql://user@host/db"),  # no password: nothing to hide
    ("sqlite:////abs/runs/x/labels.db", "sqlite:////abs/runs/x/labels.db"),
    ("sqlite:///relative/labels.db", "sqlite:///relative/labels.db"),
])
def test_mask_url_hides_only_the_password(url, masked):
    assert mask_url(url) == masked and mask_url(masked) == masked


def test_redact_masks_the_password_wherever_it_appears():
    message = f"cannot connect to {REAL}: password {SECRET} rejected"
    cleaned = redact(message, REAL)
    assert SECRET not in cleaned and MASKED in cleaned
    assert redact("auth failed for p%40ss", "mysql://u:p%40ss@h/db") == "auth failed for ***"
    assert mask_url("postgresql://u:p@ss@h/db") == "postgresql://u:***@h/db"  # an unencoded @ hides too
    assert url_password(REAL) == SECRET and url_password(MASKED) is None and url_password(None) is None


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    return load_config(None, [("output_dir", str(tmp_path / "runs")), ("name", "secret"), ("labeling.database_url", REAL)])


def test_the_config_copy_masks_the_password_and_reads_back_with_the_environment(config, tmp_path, monkeypatch):
    assert config.database_url == REAL  # the running process uses the real URL
    text = config_yaml(config)
    assert SECRET not in text and yaml.safe_load(text)["labeling"]["database_url"] == MASKED
    copy = tmp_path / "copy.yaml"
    copy.write_text(text)
    with pytest.raises(ConfigError, match=f"labeling.database_url.*masked.*{DATABASE_URL_ENV} is not set") as error:
        load_config(str(copy))
    assert SECRET not in str(error.value)
    monkeypatch.setenv(DATABASE_URL_ENV, REAL.replace("/labels", "/other"))
    with pytest.raises(ConfigError, match="names another database"):
        load_config(str(copy))
    monkeypatch.setenv(DATABASE_URL_ENV, REAL)
    assert load_config(str(copy)).database_url == REAL
    assert unmask_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_rlhf_label_writes_a_masked_copy_and_hands_the_real_url_to_the_app(config, monkeypatch):
    calls = []
    monkeypatch.setattr(labeling_commands, "existing_store", lambda c, what_to_do: types.SimpleNamespace(count_batches=lambda: 3))
    monkeypatch.setattr(labeling_commands, "serve", lambda cmd, env: calls.append((cmd, env)) or 0)
    logged = []
    monkeypatch.setattr(labeling_commands, "log", logged.append)
    source = config.run_dir.parent / "source.yaml"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text(f"name: secret\noutput_dir: {config.run_dir.parent}\nlabeling:\n  database_url: '{REAL}'\n")
    args = argparse.Namespace(config=str(source), simulate=None, limit=None)
    assert labeling_commands.label(args, []) == 0
    [(cmd, env)] = calls
    copy = config.run_dir / "config.yaml"
    assert SECRET not in copy.read_text() and MASKED in copy.read_text()
    assert not any(SECRET in part for part in cmd) and not any(SECRET in line for line in logged)
    assert env["RLHF_CONFIG"] == str(copy.resolve()) and env[DATABASE_URL_ENV] == REAL
    monkeypatch.setenv(DATABASE_URL_ENV, env[DATABASE_URL_ENV])  # as the app process reads it
    assert load_config(env["RLHF_CONFIG"]).database_url == REAL


def test_without_a_database_url_the_app_gets_no_database_variable(tmp_path, monkeypatch):
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    plain = load_config(None, [("output_dir", str(tmp_path))])
    assert DATABASE_URL_ENV not in labeling_commands.app_environment(plain, tmp_path / "c.yaml")


def test_command_logs_mask_the_password(config, monkeypatch, tmp_path):
    logged = []
    monkeypatch.setattr(labeling_commands, "log", logged.append)
    store = types.SimpleNamespace(add_labeler=lambda name, password, role, actor: types.SimpleNamespace(role=role, name=name))
    monkeypatch.setattr(labeling_commands, "open_store", lambda c: store)
    monkeypatch.setattr(labeling_commands, "_read_password", lambda from_stdin: "a-long-password")
    monkeypatch.setattr(labeling_commands, "load_config", lambda path, overrides: config)
    labeling_commands.labelers(argparse.Namespace(config="c.yaml", labelers_command="add", name="ann", admin=False,
                                                  password_stdin=True), [])
    assert logged and MASKED in logged[0] and SECRET not in " ".join(logged)


def test_the_loop_writes_masked_copies_for_every_round(config):
    pipeline.run_loop(config, rounds=2, log=lambda _message: None, stages=())
    for name in ("secret", "secret-round1"):
        text = (config.run_dir.parent / name / "config.yaml").read_text()
        assert SECRET not in text and MASKED in text
    assert pipeline.round_config(config, 1).database_url == REAL  # round 1 reaches the same store


def test_the_human_labeling_instructions_say_how_to_pass_the_password(config, monkeypatch):
    monkeypatch.setattr("rlhf.labeling.store.open_store", lambda c: types.SimpleNamespace(count_unlabeled_batches=lambda round: 4))
    logged = []
    assert pipeline.label_stage(config, logged.append) is False
    assert DATABASE_URL_ENV in logged[0] and SECRET not in logged[0]


def test_the_report_skips_the_store_without_the_password(tmp_path, monkeypatch):
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    store, note = read_label_store(tmp_path, {"labeling": {"database_url": MASKED}})
    assert store is None  # nothing tried against a masked URL
    assert MASKED in note and DATABASE_URL_ENV in note and SECRET not in note


@pytest.mark.parametrize("with_env", [True, False])
def test_the_app_shows_no_password_when_the_store_cannot_be_opened(tmp_path, monkeypatch, config, with_env):
    copy = tmp_path / "config.yaml"
    copy.write_text(config_yaml(config))
    monkeypatch.setenv("RLHF_CONFIG", str(copy))
    if with_env:
        monkeypatch.setenv(DATABASE_URL_ENV, REAL)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and len(at.error) == 1, [e.value for e in at.error]
    message = at.error[0].value
    assert SECRET not in message
    assert ("Cannot open the label store " + MASKED) in message if with_env else f"{DATABASE_URL_ENV} is not set" in message
