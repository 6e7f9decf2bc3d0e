"""`rlhf label` stops its Streamlit server with itself: no orphan holding the port after SIGTERM or SIGINT."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labeling_app.browser import free_port, wait_until_healthy
from labeling_app.synthetic import make_run

ROOT = Path(__file__).resolve().parents[2]


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as a restarted server binds (TIME_WAIT is fine)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child processes from /proc (Linux)")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_rlhf_label_stops_its_server_and_frees_the_port(tmp_path, sig):
    config_path, _ = make_run(tmp_path / "runs", "serve", batches=2, labelers=[("ann", "ann-password", "labeler")])
    port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cli = subprocess.Popen([sys.executable, "-m", "rlhf.cli", "label", "--config", str(config_path),
                            "--labeling.port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           start_new_session=True)  # its own group: the signal reaches the CLI alone, as from `kill`
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", cli, timeout=90)
        [server] = children(cli.pid)
        cli.send_signal(sig)
        cli.wait(timeout=60)
        deadline = time.monotonic() + 10
        while alive(server) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(server), "the Streamlit server outlived `rlhf label`"
        assert port_free(port)
    finally:
        try:  # the CLI and anything it left behind share its process group
            os.killpg(cli.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
