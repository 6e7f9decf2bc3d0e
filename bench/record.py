"""Run a benchmark command and keep its output in the results ledger, bench/results/<name>-<date>.md.

    python bench/record.py ppo -- .venv/bin/python bench/ppo.py --repeats 3
    python bench/record.py quickstart -- .venv/bin/rlhf run --config configs/quickstart.yaml --output_dir /tmp/qs

The file holds the command, the commit (and whether the tree had uncommitted changes), the
machine, the load average before and after, the wall time, the exit code and everything the
command printed. Figures published in README.md or docs/ are copied from such files, so each one
has a producer that can be rerun. A second run on the same day gets its own file (-2, -3, ...).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()


# The vector extensions that decide a CPU's fp32 and bf16 speed: the same model name has come with
# and without avx512_bf16 on these machines, and bf16 runs about 100 times slower without it.
VECTOR_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")


def machine() -> str:
    info = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").is_file() else []
    cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")),
               platform.processor() or "unknown CPU")
    flags = set(next((line.split(":", 1)[1].split() for line in info if line.startswith("flags")), []))
    vectors = ", ".join(f for f in VECTOR_FLAGS if f in flags) or "none of " + ", ".join(VECTOR_FLAGS)
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} CPUs ({cpu}; {vectors}), {memory:.0f} GiB, {platform.system()} {platform.release()}"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def results_path(name: str, day: str) -> Path:
    path, n = RESULTS / f"{name}-{day}.md", 2
    while path.exists():
        path, n = RESULTS / f"{name}-{day}-{n}.md", n + 1
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name", help="Results file name, e.g. the benchmark's (ppo, quickstart, mock_sentiment).")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run.")
    args = p.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        p.error("give the command after --")
    dirty = " (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
    header = {"command": " ".join(command), "commit": git("rev-parse", "--short", "HEAD") + dirty,
              "machine": machine(), "load average before": load()}
    started = time.time()
    output, returncode = run_and_echo(command)
    header.update({"load average after": load(), "wall": f"{time.time() - started:.0f} s", "exit code": str(returncode)})
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = results_path(args.name, datetime.date.today().isoformat())
    lines = [f"# {args.name}, {datetime.date.today().isoformat()}", ""] + [f"- {k}: `{v}`" for k, v in header.items()]
    path.write_text("\n".join(lines + ["", "```", output.rstrip(), "```", ""]), encoding="utf-8")
    print(f"kept in {path}", file=sys.stderr)
    return returncode


def run_and_echo(command: list[str]) -> tuple[str, int]:
    """Run `command`, echoing its output as it comes (a long bench shows its progress); (output, exit code)."""
    kept = []
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as run:
        for line in run.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            kept.append(line)
    return "".join(kept), run.returncode


if __name__ == "__main__":
    sys.exit(main())
