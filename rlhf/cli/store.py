"""Subcommands `rlhf store check` and `rlhf store backup`: a label store's soundness and counts, and a copy of it."""

from __future__ import annotations

from pathlib import Path

from rlhf.cli.output import log
from rlhf.config import load_config
from rlhf.config.secrets import mask_url
from rlhf.errors import RLHFError


def register(sub) -> None:
    p = sub.add_parser("store", help="Check a run's label store, or back it up.")
    ssub = p.add_subparsers(dest="store_command", required=True, metavar="ACTION")
    check = ssub.add_parser("check", help="SQLite's full integrity check, then the rows the store holds (exit 0: sound).")
    backup = ssub.add_parser("backup", help="Copy an SQLite store with SQLite's online backup (labelers may go on labeling).")
    backup.add_argument("--out", metavar="PATH", help="The new file to write (default <run dir>/backups/labels-<UTC time>.db).")
    for q in (check, backup):
        q.add_argument("--config", required=True, help="Run config YAML.")
    p.set_defaults(handler=store, takes_overrides=True)


def store(args, overrides) -> int:
    from rlhf.labeling.maintenance import backup_store, check_store, default_backup_path

    config = load_config(args.config, overrides)
    if not config.has_label_store():
        raise RLHFError(f"run '{config.name}' has no label store yet ({config.layout.label_store}): nothing to {args.store_command}")
    if args.store_command == "check":
        report = check_store(config.database_url)
        print(f"ok: {report.checked}")
        _print_counts(report.counts)
        return 0
    out = Path(args.out) if args.out else default_backup_path(config.layout.backups)
    counts = backup_store(config.database_url, out)
    log(f"backed up {mask_url(config.database_url)} to {out}")
    _print_counts(counts)
    return 0


def _print_counts(counts: dict[str, int]) -> None:
    for name, n in counts.items():
        print(f"  {name:18} {n}")
