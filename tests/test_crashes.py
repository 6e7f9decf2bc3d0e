"""Processes killed with SIGKILL: a labeler in the middle of its writes, reward training and PPO
after a checkpoint, and both trainers in the middle of their final save. What they leave must be
consistent, resumable, and never a half-written model where later stages look.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from ppo_fixtures import ppo_config, save_untrained_reward_model, write_config
from sqlalchemy import select, text

from rlhf.labeling.schema import AssignmentRow, BatchRow, LabelRow
from rlhf.labeling.store import LabelStore, sqlite_url
from rlhf.policy.trainer import latest_checkpoint

ROOT = Path(__file__).resolve().parents[1]
WORDS = ["bright", "warm", "cold", "dark", "glad", "sad", "kind", "cruel"]


def child_env(tmp_path) -> dict:
    env = {**os.environ, "RLHF_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "TRL_EXPERIMENTAL_SILENCE": "1", "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def start(args: list, tmp_path, log_name: str) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / log_name
    proc = subprocess.Popen([sys.executable, *map(str, args)], cwd=tmp_path, env=child_env(tmp_path),
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    return proc, log


def finish(args: list, tmp_path, log_name: str, timeout: float = 240) -> tuple[int, str]:
    proc, log = start(args, tmp_path, log_name)
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return code, log.read_text()


def resumed_from(output: str):
    """The name of the checkpoint a run said it resumed from; None when it did not say."""
    lines = [line for line in output.splitlines() if "resuming from " in line]
    return Path(lines[-1].split("resuming from ")[-1].strip()).name if lines else None


def kill_when(proc: subprocess.Popen, ready, log: Path, timeout: float = 180) -> None:
    """SIGKILL `proc` as soon as `ready()` holds; fails if the process ended first."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"the process ended (code {proc.returncode}) before it could be killed:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"nothing to kill it at after {timeout} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(30) == -signal.SIGKILL


# ---- a labeler killed in the middle of its writes --------------------------------------------------

LABELER = textwrap.dedent("""
    import random, sys
    from rlhf.labeling.store import LabelStore
    store, rng = LabelStore(sys.argv[1]), random.Random(int(sys.argv[3]))
    labeler = store.ensure_labeler(sys.argv[2]).id
    while True:
        a = store.next_assignment(labeler, 2, rng=rng)
        if a is None:
            break
        label = store.submit(labeler, a.batch_id, choice=rng.randrange(4), shown_order=a.shown_order, seconds=1.0,
                             client_token=f"{sys.argv[2]}-{a.batch_id}")
        print(label, flush=True)
""")


def labeler_killed_after(url: str, name: str, seed: int, labels: int) -> list[int]:
    """Run the labeler loop in a process, SIGKILL it once it confirmed `labels` labels; the ids it confirmed."""
    folder = Path(url.removeprefix("sqlite:///")).parent
    errors = folder / f"{name}-{seed}.err"
    with errors.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-c", LABELER, url, name, str(seed)], stdout=subprocess.PIPE,
                                stderr=err, env=child_env(folder), text=True)
    confirmed = []
    for line in proc.stdout:
        confirmed.append(int(line))
        if len(confirmed) >= labels:
            break
    else:
        proc.wait(30)
        pytest.fail(f"the labeler stopped after {len(confirmed)} labels: {errors.read_text()[-2000:]}")
    os.kill(proc.pid, signal.SIGKILL)
    confirmed += [int(line) for line in proc.stdout]  # printed before it died
    assert proc.wait(30) == -signal.SIGKILL
    proc.stdout.close()
    return confirmed


def test_a_labeler_killed_mid_write_leaves_a_consistent_store_and_labeling_goes_on(tmp_path):
    url = sqlite_url(tmp_path / "labels.db")
    store = LabelStore(url)
    store.add_queries([{"id": f"q{i}", "task": "sentiment", "prompt": f"Story {i} begins."} for i in range(400)])
    for i in range(400):
        store.add_batch(f"q{i}", [f" It was {w}." for w in random.Random(i).sample(WORDS, 4)], policy="fake")
    store.engine.dispose()
    confirmed = {}
    for round, labels in enumerate((40, 25, 60)):  # the same two labelers killed three times over
        for name in ("ann", "bob"):
            confirmed.setdefault(name, []).extend(labeler_killed_after(url, name, round, labels))

    store = LabelStore(url)  # it opens
    with store.session() as s:
        assert s.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        assert s.execute(text("PRAGMA foreign_key_check")).all() == []
        rows = list(s.scalars(select(LabelRow)))
        batches = set(s.scalars(select(BatchRow.id)))
        assignments = list(s.scalars(select(AssignmentRow)))
    assert all(r.batch_id in batches for r in rows)
    for name, ids in confirmed.items():
        labeler = store.labeler(name).id
        mine = {r.id for r in rows if r.labeler_id == labeler}
        assert set(ids) <= mine  # nothing it was told is stored got lost
        assert len(ids) == len(set(ids)) and len(mine) - len(ids) <= 3  # at most one unconfirmed label per kill
        # a label and the closing of its assignment are one transaction
        closed = {a.batch_id for a in assignments if a.labeler_id == labeler and a.done}
        assert closed == {r.batch_id for r in rows if r.labeler_id == labeler}
        assert sum(1 for a in assignments if a.labeler_id == labeler and not a.done) <= 1

    # Labeling goes on: each gets back their open assignment (if the kill left one) or a new batch.
    for name in ("ann", "bob"):
        labeler = store.labeler(name).id
        open_before = [a.batch_id for a in assignments if a.labeler_id == labeler and not a.done]
        assignment = store.next_assignment(labeler, 2)
        assert assignment is not None and (not open_before or assignment.batch_id == open_before[0])
        label = store.submit(labeler, assignment.batch_id, choice=0, shown_order=assignment.shown_order,
                             client_token=f"{name}-{assignment.batch_id}")
        assert store.submit(labeler, assignment.batch_id, choice=0, client_token=f"{name}-{assignment.batch_id}") == label
    assert len(store.labels()) == len(rows) + 2
    store.engine.dispose()


# ---- reward training killed after a checkpoint, and in its final save --------------------------------

# Runs the CLI with the final save interrupted by SIGKILL: after the weights are written, before
# the directory is renamed into place (what a kill or power cut at the worst moment does).
KILL_IN_FINAL_SAVE = textwrap.dedent("""
    import os, signal, sys
    import {module} as target
    original = target.{function}
    def killed(*args, **kwargs):
        original(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
    target.{function} = killed
    from rlhf.cli import main
    main(sys.argv[1:])
""")
# Killed as it is about to swap a finished temporary directory into place.
KILL_BEFORE = KILL_IN_FINAL_SAVE.replace("    original(*args, **kwargs)\n", "")


def reward_config(tmp_path, model_dir) -> Path:
    path = tmp_path / "reward.yaml"
    path.write_text(f"name: rm\noutput_dir: {tmp_path}\nmodel: {{name: {model_dir}}}\n"
                    "reward: {batch_size: 2, gradient_accumulation_steps: 1, normalize_samples: 8, save_steps: 1, "
                    "logging_steps: 1, epochs: 2}\n")
    store = LabelStore.for_run(tmp_path / "rm")
    rng = random.Random(0)
    store.add_queries([{"id": f"q{i}", "task": "sentiment", "prompt": f"Story {i} begins."} for i in range(40)])
    labeler = store.ensure_labeler("sim:test")
    for i in range(40):
        batch = store.add_batch(f"q{i}", [f" It was {w}." for w in rng.sample(WORDS, 4)], policy=str(model_dir))
        store.submit(labeler.id, batch, choice=rng.randrange(4))
    store.engine.dispose()
    return path


def complete_checkpoints(root: Path) -> list[Path]:
    return sorted((p for p in root.glob("checkpoint-*") if (p / "trainer_state.json").is_file()),
                  key=lambda p: int(p.name.split("-")[1]))


def assert_complete_reward_model(path: Path) -> None:
    from reward.model import load_reward_model

    assert {"config.json", "reward_head.json", "metrics.json"} <= {p.name for p in path.iterdir()}
    load_reward_model(path)


def test_reward_training_killed_after_a_checkpoint_resumes_and_never_leaves_half_a_model(tmp_path, tiny_gpt2):
    config = reward_config(tmp_path, tiny_gpt2)
    run_dir = tmp_path / "rm"
    checkpoints, final = run_dir / "reward_model.checkpoints", run_dir / "reward_model"
    args = ["-m", "rlhf.cli", "train-reward", "--config", config]

    proc, log = start(args, tmp_path, "first.log")
    kill_when(proc, lambda: bool(complete_checkpoints(checkpoints)) if checkpoints.is_dir() else False, log)
    assert complete_checkpoints(checkpoints) and not final.exists()
    # A kill during a checkpoint write leaves a newer checkpoint without its trainer state: resume
    # must pick the newest complete one, not this one.
    last = complete_checkpoints(checkpoints)[-1]
    partial = checkpoints / f"checkpoint-{int(last.name.split('-')[1]) + 1000}"
    partial.mkdir(exist_ok=True)
    for f in last.glob("*.safetensors"):
        shutil.copy(f, partial / f.name)

    # Killed again in the middle of the final save: no reward_model/ appears.
    script = KILL_IN_FINAL_SAVE.format(module="reward.train", function="save_reward_model")
    code, output = finish(["-c", script, "train-reward", "--config", config], tmp_path, "second.log")
    assert code == -signal.SIGKILL, output[-3000:]
    assert resumed_from(output) == last.name, output[-3000:]
    assert not final.exists() and (run_dir / "reward_model.tmp").is_dir()

    newest = complete_checkpoints(checkpoints)[-1].name  # the last step's: only the final save was missing
    code, output = finish(args, tmp_path, "third.log")
    assert code == 0, output[-3000:]
    assert resumed_from(output) == newest
    assert "held-out best-of-4 accuracy" in output
    assert_complete_reward_model(final)
    assert not (run_dir / "reward_model.tmp").exists() and not checkpoints.exists()


# ---- PPO killed after a checkpoint, and in its final save --------------------------------------------


def test_ppo_killed_after_a_checkpoint_resumes_and_the_policy_appears_only_complete(tmp_path, tiny_gpt2):
    path = write_config(tmp_path, tiny_gpt2, total_episodes=64, save_steps=1, sample_every=1)
    config = ppo_config(tmp_path, tiny_gpt2, name="cli")
    save_untrained_reward_model(config, tiny_gpt2)
    checkpoints, final = config.layout.policy_checkpoints, config.run_dir / "policy"
    args = ["-m", "rlhf.cli", "train-policy", "--config", path]

    proc, log = start(args, tmp_path, "first.log")
    kill_when(proc, lambda: checkpoints.is_dir() and latest_checkpoint(checkpoints) is not None, log)
    assert latest_checkpoint(checkpoints) is not None and not final.exists()

    script = KILL_BEFORE.format(module="rlhf.run.files", function="replace_dir")
    code, output = finish(["-c", script, "train-policy", "--config", path, "--resume"], tmp_path, "second.log")
    assert code == -signal.SIGKILL, output[-3000:]
    assert resumed_from(output), output[-3000:]
    assert not final.exists() and (config.run_dir / "policy.tmp" / "config.json").is_file()
    assert latest_checkpoint(checkpoints).name == "update-000008"

    code, output = finish([*args, "--resume"], tmp_path, "third.log")
    assert code == 0, output[-3000:]
    assert resumed_from(output) == "update-000008"
    from transformers import AutoModelForCausalLM

    assert {"config.json", "metrics.json", "training_log.json", "README.md"} <= {p.name for p in final.iterdir()}
    AutoModelForCausalLM.from_pretrained(final)
    assert json.loads((final / "metrics.json").read_text())["updates"] == 8
    assert not (config.run_dir / "policy.tmp").exists() and not checkpoints.exists()
    samples = [json.loads(line) for line in (config.run_dir / "policy_samples.jsonl").read_text().splitlines()]
    assert sorted(s["update"] for s in samples) == [u for u in range(1, 9) for _ in range(4)]  # once each, after resumes


def test_resuming_drops_the_samples_written_after_the_checkpoint_and_a_half_written_line(tmp_path):
    from rlhf.policy.trainer import trim_samples

    path = tmp_path / "policy_samples.jsonl"
    rows = [json.dumps({"update": u, "query": "q", "response": "r", "score": 0.5}) for u in (1, 1, 2, 2, 3, 3)]
    path.write_text("\n".join(rows) + '\n{"update": 4, "que')  # killed in the middle of a line
    trim_samples(path, 2)
    assert [json.loads(line)["update"] for line in path.read_text().splitlines()] == [1, 1, 2, 2]
    assert path.read_text().endswith("\n")


def test_overwriting_a_reward_model_never_leaves_half_of_one(tmp_path, tiny_gpt2, monkeypatch):
    """A crash while the old model is deleted (an `--overwrite` run's last step) leaves a whole model."""
    import reward.train
    from reward.model import build_reward_model
    from rlhf.models.tokenizer import add_pad_token, load_tokenizer

    tokenizer = load_tokenizer(str(tiny_gpt2), "right")
    add_pad_token(tokenizer)
    model = build_reward_model(str(tiny_gpt2), tokenizer)
    final = tmp_path / "reward_model"
    reward.train._save_atomically(model, tokenizer, final, {"normalization": {}, "run": "old"})
    original = shutil.rmtree

    def crash_halfway(path, *args, **kwargs):
        path = Path(path)
        if path.name in ("reward_model", "reward_model.old") and path.is_dir():
            next(p for p in sorted(path.iterdir()) if p.is_file()).unlink()  # part of it is gone...
            raise KeyboardInterrupt("killed while deleting")  # ...when the process dies
        return original(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", crash_halfway)
    try:
        reward.train._save_atomically(model, tokenizer, final, {"normalization": {}, "run": "new"})
    except KeyboardInterrupt:
        pass
    monkeypatch.undo()
    assert_complete_reward_model(final)
    assert {"model.safetensors", "tokenizer_config.json"} <= {p.name for p in final.iterdir()}
    assert json.loads((final / "metrics.json").read_text())["run"] in ("old", "new")
