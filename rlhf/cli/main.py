"""The `rlhf` command: parses arguments, runs one subcommand, turns user errors into one line.

Every subcommand that reads a run config takes `--config FILE.yaml` and any number of overrides
in TRL's style, `--section.key value` or `--section.key=value` (values are read as YAML).
Exit codes: 0 success, 1 user error, 2 bad config or arguments, 3 model not available, 4 bad data,
130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from rlhf.cli import config, evaluate, generate, gold, labeling, models, policy, report, reward, run, sft, store
from rlhf.config.loader import parse_override
from rlhf.errors import ConfigError, RLHFError


def _overrides(extra: list[str]) -> list[tuple[str, object]]:
    """`--a.b value` / `--a.b=value` pairs from the arguments argparse did not know."""
    pairs, i = [], 0
    while i < len(extra):
        token = extra[i]
        if not token.startswith("--") or len(token) <= 2:
            raise ConfigError("", f"unexpected argument {token!r}; overrides look like --section.key value")
        if "=" in token:
            pairs.append(parse_override(token[2:]))
            i += 1
        elif i + 1 < len(extra) and not extra[i + 1].startswith("--"):
            pairs.append(parse_override(f"{token[2:]}={extra[i + 1]}"))
            i += 2
        else:
            pairs.append((token[2:], True))
            i += 1
    return pairs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rlhf", description="Fine-tune language models from human preferences.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (generate, models, config, labeling, gold, store, sft, reward, policy, evaluate, run, report):
        group.register(sub)
    return parser


def _version() -> str:
    from rlhf import __version__

    return f"rlhf {__version__}"


def _argument_overrides(args: argparse.Namespace) -> list[tuple[str, object]]:
    """Options whose destination is a config key (those with a dot, plus task and seed)."""
    pairs = []
    for key, value in vars(args).items():
        if value is not None and ("." in key or key in ("task", "seed")) and not callable(value):
            pairs.append((key, value))
    return pairs


def dispatch(argv: list[str] | None = None) -> int:
    """Parse `argv` and run its subcommand's handler; returns the exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "takes_overrides", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args.handler(args, _argument_overrides(args) + _overrides(extra))


def _quiet_libraries() -> None:
    """Library chatter (weight-loading bars, resize notices) hides our own progress and messages."""
    import os

    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import logging

    # bitsandbytes (the 8-bit optimizers) warns on import about an optional CPU kernel package.
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> None:
    _quiet_libraries()
    try:
        code = dispatch(argv)
    except RLHFError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
