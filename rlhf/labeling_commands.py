"""Subcommands of the labeling stage: sample, labelers, label (app or simulated), export, import.

Each `add_*` function declares its arguments beside the handler that uses them; `cli.py` calls
`register` once. Handlers take the parsed arguments and the config overrides.
"""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
from pathlib import Path

from rlhf.commands import log
from rlhf.config import Config, config_yaml, load_config
from rlhf.errors import RLHFError

APP = Path(__file__).resolve().parent.parent / "labeling_app" / "app.py"


def register(sub) -> None:
    p = sub.add_parser("sample", help="Sample best-of-k batches of continuations for labelers.")
    p.add_argument("--config", required=True, help="Run config YAML.")
    p.add_argument("--n", dest="labeling.num_queries", type=int, metavar="N", help="Queries to sample (default labeling.num_queries).")
    p.add_argument("--policy", dest="labeling.policy", metavar="DIR", help="Trained policy directory to sample from (default: the base model).")
    p.add_argument("--round", dest="labeling.round", type=int, metavar="R", help="Collection round of these samples.")
    p.set_defaults(handler=sample, takes_overrides=True)

    p = sub.add_parser("labelers", help="Add or list labelers of a run's label store.")
    lsub = p.add_subparsers(dest="labelers_command", required=True, metavar="ACTION")
    add = lsub.add_parser("add", help="Create a labeler (asks for the password; never pass it as an argument).")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="Give the admin role (dashboard, exports).")
    add.add_argument("--password-stdin", action="store_true", help="Read the password from the first line of standard input.")
    lsub.add_parser("list", help="List labelers with their roles.")
    for q in (add, lsub.choices["list"]):
        q.add_argument("--config", required=True, help="Run config YAML.")
    p.set_defaults(handler=labelers, takes_overrides=True)

    p = sub.add_parser("label", help="Start the labeling app, or label with a simulated labeler.")
    p.add_argument("--config", required=True, help="Run config YAML.")
    p.add_argument("--host", dest="labeling.host", metavar="HOST", help="Address to listen on (default 127.0.0.1).")
    p.add_argument("--port", dest="labeling.port", type=int, metavar="PORT", help="Port (default 8501).")
    p.add_argument("--simulate", metavar="KIND", help="Label with a simulated labeler: sentiment, descriptiveness or rouge.")
    p.add_argument("--temperature", dest="labeling.simulate_temperature", type=float, metavar="T",
                   help="Simulated labeler noise: Boltzmann temperature (0: always the best).")
    p.add_argument("--limit", type=int, help="Simulated labeler: stop after this many labels.")
    p.set_defaults(handler=label, takes_overrides=True)

    p = sub.add_parser("export", help="Export labels: best_of_4.jsonl, pairs.jsonl and datasets.")
    p.add_argument("--config", required=True, help="Run config YAML.")
    p.add_argument("--out", help="Output folder (default <run dir>/exports).")
    p.set_defaults(handler=export, takes_overrides=True)

    p = sub.add_parser("import", help="Import labels from a best-of-4 JSONL or an lm-human-preferences label file.")
    p.add_argument("--config", required=True, help="Run config YAML.")
    p.add_argument("file", help="Label file to import.")
    p.add_argument("--format", choices=["best-of-4", "openai"], default="best-of-4", help="File format (default best-of-4).")
    p.add_argument("--tokenizer", help="GPT-2 tokenizer folder for token-id files (--format openai).")
    p.set_defaults(handler=import_labels, takes_overrides=True)


def open_store(config: Config):
    from rlhf.label_store import LabelStore

    return LabelStore.for_run(config.run_dir, config.labeling.database_url)


def _write_resolved(config: Config) -> Path:
    from rlhf.run_dir import write_config

    return write_config(config.run_dir, config_yaml(config))


def sample(args, overrides) -> int:
    from rlhf.sampling import sample_round

    config = load_config(args.config, overrides)
    _write_resolved(config)
    sample_round(config, open_store(config), config.labeling.num_queries, log=log)
    return 0


def labelers(args, overrides) -> int:
    config = load_config(args.config, overrides)
    store = open_store(config)
    if args.labelers_command == "list":
        for labeler in store.labelers():
            print(f"{labeler.name:24} {labeler.role}")
        return 0
    password = _read_password(args.password_stdin)
    labeler = store.add_labeler(args.name, password, "admin" if args.admin else "labeler")
    log(f"added {labeler.role} {labeler.name!r} to {config.database_url}")
    return 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            raise RLHFError("the two passwords differ; nothing was changed")
    if len(password) < 8:
        raise RLHFError("a password needs at least 8 characters; nothing was changed")
    return password


def label(args, overrides) -> int:
    config = load_config(args.config, overrides)
    store = open_store(config)
    if store.count_batches() == 0:
        raise RLHFError(f"the label store has no sample batches yet: run `rlhf sample --config {args.config}` first")
    if args.simulate:
        return _simulate(config, store, args.simulate, args.limit)
    path = _write_resolved(config)
    url = f"http://{config.labeling.host}:{config.labeling.port}"
    log(f"labeling app for run '{config.name}' at {url} (Ctrl+C to stop)")
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.address", config.labeling.host,
           "--server.port", str(config.labeling.port), "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal",
           "--server.fileWatcherType", "none"]
    return subprocess.call(cmd, env={**os.environ, "RLHF_CONFIG": str(path.resolve())})


def _simulate(config: Config, store, kind: str, limit) -> int:
    from rlhf.simulated_labelers import simulate

    n = simulate(store, kind, task=config.task, temperature=config.labeling.simulate_temperature,
                 labelers_per_batch=config.labeling.labelers_per_batch, seed=config.seed, limit=limit)
    log(f"sim:{kind} stored {n} labels")
    return 0


def export(args, overrides) -> int:
    from rlhf.label_export import export_labels

    config = load_config(args.config, overrides)
    out = Path(args.out) if args.out else config.run_dir / "exports"
    written = export_labels(open_store(config), out, config.task.name)
    for name, path in written.items():
        log(f"{name}: {path}")
    return 0


def import_labels(args, overrides) -> int:
    from rlhf.label_import import import_best_of_4, import_openai_labels

    config = load_config(args.config, overrides)
    store = open_store(config)
    if args.format == "openai":
        if not args.tokenizer:
            raise RLHFError("--format openai needs --tokenizer: the GPT-2 tokenizer folder the token ids come from")
        n = import_openai_labels(store, args.file, args.tokenizer, config.task.name)
    else:
        n = import_best_of_4(store, args.file, config.task.name)
    log(f"imported {n} labels into {config.database_url}")
    return 0
