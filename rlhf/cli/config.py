"""Subcommands that show settings: config (the resolved run config) and tasks."""

from __future__ import annotations

from typing import Optional

from rlhf.config import config_yaml, load_config


def register(sub) -> None:
    p = sub.add_parser("tasks", help="List the built-in tasks or show one resolved.")
    p.add_argument("name", nargs="?", help="Task to show (a built-in name or task YAML path).")
    p.set_defaults(handler=lambda args, overrides: tasks(args.name))

    p = sub.add_parser("config", help="Print the resolved config (defaults, file and overrides) as YAML.")
    p.add_argument("--config", help="Run config YAML.")
    p.set_defaults(handler=lambda args, overrides: show_config(args.config, overrides), takes_overrides=True)


def show_config(path: Optional[str], overrides) -> int:
    print(config_yaml(load_config(path, overrides)), end="")
    return 0


def tasks(name: Optional[str]) -> int:
    from rlhf.config.loader import dump_yaml, to_dict
    from rlhf.config.task import builtin_tasks, load_task

    if name:
        print(dump_yaml(to_dict(load_task(name))), end="")
        return 0
    for task_name in builtin_tasks():
        task = load_task(task_name)
        print(f"{task_name:16} {task.description}")
    return 0
