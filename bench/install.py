"""`make install`'s two ways, side by side: pip alone against uv with pip's package sources.

Each install goes into a fresh virtual environment with empty package caches (pip's and uv's), so
both fetch or copy everything they install; the uv way includes pip installing uv itself. The
table prints seconds (median of --repeats) and whether both environments hold the same packages.

    python bench/install.py            # this project, as make install installs it: about 3 minutes here
    python bench/install.py --target DIR   # any installable directory (the tests use a tiny one)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.record import load as load_average  # noqa: E402 (the root must be on sys.path first)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", default=str(ROOT), help="Directory installed (editable), default this project.")
    p.add_argument("--repeats", type=int, default=1, help="Installs per way; the table shows medians.")
    return p.parse_args(argv)


def constraints() -> list[str]:
    """The Makefile's: the CPU pins where there is no NVIDIA GPU."""
    return [] if shutil.which("nvidia-smi") else ["-c", str(ROOT / "constraints" / "cpu.txt")]


def pip_way(python: str, target: str) -> list[list[str]]:
    return [[python, "-m", "pip", "install", "-q", *constraints(), "-e", target]]


def uv_way(python: str, target: str) -> list[list[str]]:
    sources = subprocess.run([python, str(ROOT / "constraints" / "uv_sources.py")], capture_output=True, text=True,
                             check=True).stdout.split()
    return [[python, "-m", "pip", "install", "-q", "uv"],
            [python, "-m", "uv", "pip", "install", "-q", "--python", python, *sources, *constraints(), "-e", target]]


WAYS = {"pip": pip_way, "uv (pip's sources)": uv_way}


def install(way, target: str) -> tuple[float, set[str]]:
    """Seconds to install `target` the given way into a fresh venv with empty caches, and what it holds."""
    with tempfile.TemporaryDirectory() as work:
        venv = Path(work) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = str(venv / "bin" / "python")
        env = {**os.environ, "PIP_CACHE_DIR": str(Path(work) / "pip-cache"), "UV_CACHE_DIR": str(Path(work) / "uv-cache"),
               "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        start = time.perf_counter()
        for command in way(python, target):
            subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        frozen = subprocess.run([python, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True, text=True,
                                check=True, env=env).stdout.split()
    return seconds, {line for line in frozen if not line.startswith(("uv==", "#"))}


def run(args) -> dict:
    seconds: dict[str, list[float]] = {name: [] for name in WAYS}
    packages: dict[str, set[str]] = {}
    for _ in range(args.repeats):
        for name, way in WAYS.items():
            took, packages[name] = install(way, args.target)
            seconds[name].append(took)
    pip_set, uv_set = packages.values()
    return {"seconds": {name: statistics.median(values) for name, values in seconds.items()},
            "packages": len(pip_set), "same": pip_set == uv_set, "differ": sorted(pip_set ^ uv_set)}


def main(argv=None) -> int:
    args = parse_args(argv)
    before = load_average()
    figures = run(args)
    print(f"install of {args.target} into a fresh venv, empty caches, median of {args.repeats}; load average before "
          f"{before}, after {load_average()}")
    for name, seconds in figures["seconds"].items():
        print(f"{name:20} {seconds:8.1f} s")
    pip_s, uv_s = figures["seconds"].values()
    print(f"uv / pip: {uv_s / pip_s:.2f}x the time; {figures['packages']} packages, "
          f"{'the same in both' if figures['same'] else 'different: ' + ', '.join(figures['differ'])}")
    return 0 if figures["same"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
