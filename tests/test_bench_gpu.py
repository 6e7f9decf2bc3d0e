"""bench/gpu.sh's CPU dry run: the GPU check's every step (packages, model, tests, PPO and reward
benches) at tiny sizes, so the script that runs on a bare GPU machine cannot rot where there is none."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_gpu_check_runs_every_step_on_the_cpu(tmp_path, shared_data):
    env = {**os.environ, "PYTHON": sys.executable, "GPU_WORK": str(tmp_path / "work"), "RLHF_SHARED_DATA": str(shared_data)}
    done = subprocess.run(["bash", "bench/gpu.sh", "--device", "cpu", "--dry-run"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1800)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    for name in ("packages", "model", "tests", "ppo", "reward"):
        assert f"== {name}: exit 0" in out, f"step {name} did not pass:\n{out[-4000:]}"
    assert "every step passed on cpu" in out and "GPT-2 shape" in out
