"""Print pip's configured package sources as uv arguments, so `make install` resolves what pip would.

uv installs in seconds what pip takes minutes for, but it reads neither pip.conf nor PIP_*
variables: on a machine whose pip points at a mirror, a local wheel folder (where the CPU build of
torch may live) or a site-wide constraints file, uv alone would pick other packages. uv also takes
a package from the first index that has it unless told to compare them all, as pip does.

Usage: python constraints/uv_sources.py   (reads `pip config list`; prints nothing pip lacks)
"""

from __future__ import annotations

import subprocess
import sys

# pip option -> uv flag; each but no-index may hold several whitespace-separated values.
FLAGS = {"index-url": "--index-url", "extra-index-url": "--extra-index-url", "find-links": "--find-links",
         "constraint": "--constraint", "no-index": "--no-index"}
# `pip config list` shows the files already merged, by section; for `pip install` the [install]
# section overrides [global], and PIP_* variables (shown as `:env:`) override both.
SCOPES = ("global", "install", ":env:")


def pip_settings(listing: str) -> dict[str, str]:
    """{option: value} from `pip config list` lines such as `global.find-links='/opt/wheels'`."""
    found: dict[str, tuple[int, str]] = {}
    for line in listing.splitlines():
        key, sep, value = line.partition("=")
        scope, _, option = key.rpartition(".")
        if not sep or option not in FLAGS or scope not in SCOPES:
            continue
        rank = SCOPES.index(scope)
        if option not in found or rank >= found[option][0]:
            found[option] = (rank, value.strip().strip("'\""))
    return {option: value for option, (_, value) in found.items()}


def uv_arguments(settings: dict[str, str]) -> list[str]:
    args = ["--index-strategy", "unsafe-best-match"]
    for option, flag in FLAGS.items():
        if option == "no-index":
            args += [flag] if settings.get(option, "").lower() in ("1", "true", "yes", "on") else []
            continue
        for value in settings.get(option, "").split():
            args += [flag, value]
    return args


def main() -> int:
    listing = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    # Plain words: the Makefile splits them unquoted, so quotes would reach uv as part of a path.
    print(" ".join(uv_arguments(pip_settings(listing))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
