"""The `rlhf` command: parses arguments, runs one subcommand, turns user errors into one line.

Every subcommand that reads a run config takes `--config FILE.yaml` and any number of overrides
in TRL's style, `--section.key value` or `--section.key=value` (values are read as YAML).
Exit codes: 0 success, 1 user error, 2 bad config or arguments, 3 model not available, 4 bad data,
130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from rlhf.errors import ConfigError, RLHFError


def _overrides(extra: list[str]) -> list[tuple[str, object]]:
    """`--a.b value` / `--a.b=value` pairs from the arguments argparse did not know."""
    from rlhf.config_loader import parse_override

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


def _add_generate(sub) -> None:
    p = sub.add_parser("generate", help="Write continuations of a prompt or of a prompt source.",
                       description="Sample continuations with the task's settings or your own.")
    p.add_argument("--config", help="Run config YAML (see configs/).")
    p.add_argument("--model", dest="model.name", help="Alias (smollm2-135m), local directory, or hub name.")
    p.add_argument("--task", dest="task", help="Built-in task name or task YAML path.")
    p.add_argument("--prompt", action="append", dest="prompt_texts", metavar="TEXT", help="A prompt to continue (repeatable).")
    p.add_argument("--prompts", dest="prompts.path", metavar="SOURCE", help="Prompt file, folder, glob or hub dataset.")
    p.add_argument("--split", dest="generation.split", choices=["train", "eval"], help="Prompt split (default eval).")
    p.add_argument("--num-prompts", dest="generation.num_prompts", type=int, metavar="N", help="Continue the first N prompts.")
    p.add_argument("--num-samples", dest="generation.num_samples", type=int, metavar="N", help="Continuations per prompt.")
    p.add_argument("--temperature", dest="generation.temperature", type=float)
    p.add_argument("--top-k", dest="generation.top_k", type=int)
    p.add_argument("--top-p", dest="generation.top_p", type=float)
    p.add_argument("--max-new-tokens", dest="generation.max_new_tokens", type=int)
    p.add_argument("--batch-size", dest="generation.batch_size", type=int)
    p.add_argument("--seed", dest="seed", type=int)
    p.add_argument("--no-truncate", dest="generation.truncate", action="store_const", const=False,
                   help="Keep the whole continuation instead of cutting it by the task's rule.")
    p.add_argument("--output", help="JSONL file to write; default: <run dir>/generations.jsonl with --config.")
    p.add_argument("--quiet", action="store_true", help="Do not print the continuations.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rlhf", description="Fine-tune language models from human preferences.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_generate(sub)

    models = sub.add_parser("models", help="List or pull offline model aliases.")
    msub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    ml = msub.add_parser("list", help="Show the aliases and what is cached.")
    mp = msub.add_parser("pull", help="Fetch and cache a model ahead of time.")
    mp.add_argument("name", help="Alias to pull, e.g. smollm2-135m.")
    for p in (ml, mp):
        p.add_argument("--cache-dir", help="Model cache (default $RLHF_CACHE or ~/.cache/rlhf).")

    tasks = sub.add_parser("tasks", help="List the built-in tasks or show one resolved.")
    tasks.add_argument("name", nargs="?", help="Task to show (a built-in name or task YAML path).")

    cfg = sub.add_parser("config", help="Print the resolved config (defaults, file and overrides) as YAML.")
    cfg.add_argument("--config", help="Run config YAML.")

    from rlhf import evaluate_commands, labeling_commands, policy_commands, report_commands, reward_commands, sft_commands

    labeling_commands.register(sub)
    sft_commands.register(sub)
    reward_commands.register(sub)
    policy_commands.register(sub)
    evaluate_commands.register(sub)
    report_commands.register(sub)
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


def run(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    takes_overrides = args.command in ("generate", "config") or getattr(args, "takes_overrides", False)
    if extra and not takes_overrides:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if hasattr(args, "handler"):
        return args.handler(args, _argument_overrides(args) + _overrides(extra))
    from rlhf import commands

    if args.command == "models":
        return commands.models_list(args.cache_dir) if args.models_command == "list" else commands.models_pull(args.name, args.cache_dir)
    if args.command == "tasks":
        return commands.tasks(args.name)
    overrides = _argument_overrides(args) + _overrides(extra)
    if args.command == "config":
        return commands.show_config(args.config, overrides)
    return commands.generate(args.config, overrides, args.prompt_texts, args.output, args.quiet)


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
        code = run(argv)
    except RLHFError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
