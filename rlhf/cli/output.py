"""How the command talks: progress and messages on stderr, results on stdout."""

from __future__ import annotations

import sys


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
