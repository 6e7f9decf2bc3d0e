"""The `rlhf` command: argument parsing and printing only, a module per command group."""

from rlhf.cli.main import main

__all__ = ["main"]
