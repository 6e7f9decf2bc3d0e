"""constraints/uv_sources.py: `make install` hands pip's package sources to uv, so both resolve alike."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "constraints" / "uv_sources.py"
_spec = importlib.util.spec_from_file_location("uv_sources", SCRIPT)
uv_sources = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(uv_sources)


def test_install_and_environment_settings_win_and_lists_become_one_flag_per_value():
    listing = "\n".join([
        "global.find-links='/opt/wheels'",
        ":env:.find-links='/srv/wheels /more/wheels'",
        "global.index-url='https://pypi.org/simple'",
        "install.index-url='https://mirror.example/simple'",
        "download.index-url='https://other.example/simple'",  # another command's section: not install's
        "global.extra-index-url='file:///a/simple file:///b/simple'",
        "global.constraint='/etc/caps.txt'",
        "global.cert='/etc/ssl/cert.pem'",  # not a package source: left to uv's own settings
    ])
    args = uv_sources.uv_arguments(uv_sources.pip_settings(listing))
    assert args == ["--index-strategy", "unsafe-best-match",
                    "--index-url", "https://mirror.example/simple",
                    "--extra-index-url", "file:///a/simple", "--extra-index-url", "file:///b/simple",
                    "--find-links", "/srv/wheels", "--find-links", "/more/wheels",
                    "--constraint", "/etc/caps.txt"]


def test_no_index_only_when_pip_is_told_so():
    assert "--no-index" in uv_sources.uv_arguments(uv_sources.pip_settings(":env:.no-index='1'"))
    assert "--no-index" not in uv_sources.uv_arguments(uv_sources.pip_settings(":env:.no-index='false'"))


def test_reads_the_running_pips_configuration(tmp_path):
    env = {**os.environ, "PIP_FIND_LINKS": str(tmp_path), "PIP_CONFIG_FILE": os.devnull}
    out = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, env=env, check=True).stdout
    words = out.split()
    assert words[words.index("--find-links") + 1] == str(tmp_path)
