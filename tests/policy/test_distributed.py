"""Two CPU processes under `accelerate launch` (torchrun, gloo): data-parallel PPO for a few updates."""

import json
import os
import subprocess
import sys
from pathlib import Path

from ppo_fixtures import ppo_config, save_untrained_reward_model, write_config

ROOT = Path(__file__).resolve().parents[2]


def test_two_processes_share_each_update_and_save_one_policy(tmp_path, tiny_llama):
    path = write_config(tmp_path, tiny_llama, batch_size=4, total_episodes=32, save_steps=2, sample_every=0)
    config = ppo_config(tmp_path, tiny_llama, name="cli")
    save_untrained_reward_model(config, tiny_llama)
    launcher = Path(sys.executable).with_name("accelerate")
    command = [str(launcher), "launch", "--config_file", str(ROOT / "configs/accelerate/multi_cpu.yaml"),
               "--main_process_port", "29517", "-m", "rlhf.cli", "train-policy", "--config", path]
    env = {**os.environ, "ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    history = json.loads((config.run_dir / "policy" / "training_log.json").read_text())
    # 4 rollouts per process per update, 2 processes: 8 episodes per update, 4 updates for 32.
    assert [h["episode"] for h in history if "objective/kl" in h] == [8, 16, 24, 32]
    assert done.stderr.count("4 updates: reward") == 1  # only rank 0 speaks
