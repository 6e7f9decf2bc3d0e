"""Subcommands of the labeling stage: sample, labelers, label (app or simulated), export, import.

Each `add_*` function declares its arguments beside the handler that uses them; `rlhf.cli.main` calls
`register` once. Handlers take the parsed arguments and the config overrides.
"""

from __future__ import annotations

import getpass
import os
import signal
import subprocess
import sys
from pathlib import Path

from rlhf.cli.output import log
from rlhf.config import Config, check_run_dir, load_config, write_run_config
from rlhf.config.secrets import DATABASE_URL_ENV, mask_url
from rlhf.errors import RLHFError
from rlhf.labeling.passwords import check_new_password
from rlhf.labeling.store import existing_store, open_store

APP = Path(__file__).resolve().parents[2] / "labeling_app" / "app.py"


def register(sub) -> None:
    p = sub.add_parser("sample", help="Sample best-of-k batches of continuations for labelers.")
    p.add_argument("--config", required=True, help="Run config YAML.")
    p.add_argument("--n", dest="labeling.num_queries", type=int, metavar="N", help="Queries to sample (default labeling.num_queries).")
    p.add_argument("--policy", dest="labeling.policy", metavar="DIR", help="Trained policy directory to sample from (default: the base model).")
    p.add_argument("--round", dest="labeling.round", type=int, metavar="R", help="Collection round of these samples.")
    p.set_defaults(handler=sample, takes_overrides=True)

    p = sub.add_parser("labelers", help="Manage the labelers of a run's label store (also on the app's dashboard).")
    lsub = p.add_subparsers(dest="labelers_command", required=True, metavar="ACTION")
    add = lsub.add_parser("add", help="Create a labeler (asks for the password; never pass it as an argument).")
    add.add_argument("--admin", action="store_true", help="Give the admin role (dashboard, exports).")
    add.add_argument("--password-stdin", action="store_true", help="Read the password from the first line of standard input.")
    lsub.add_parser("list", help="List labelers with their roles and whether they are active.")
    lsub.add_parser("reset-password", help="Print a one-time password; the labeler chooses a new one at the next sign-in.")
    lsub.add_parser("deactivate", help="Sign a labeler out and take no more of their labels (kept ones stay).")
    lsub.add_parser("activate", help="Let a deactivated labeler sign in again.")
    lsub.add_parser("role", help="Change a labeler's role.")
    lsub.add_parser("log", help="The record of admin actions, newest first (who, what, when).")
    for name, q in lsub.choices.items():
        if name not in ("list", "log"):
            q.add_argument("name")
        q.add_argument("--config", required=True, help="Run config YAML.")
    lsub.choices["role"].add_argument("role", choices=["labeler", "admin"])
    p.set_defaults(handler=labelers, takes_overrides=True)

    p = sub.add_parser("label", help="Start the labeling app, or label with a simulated labeler.")
    p.add_argument("--config", required=True, help="Run config YAML.")
    p.add_argument("--host", dest="labeling.host", metavar="HOST", help="Address to listen on (default 127.0.0.1).")
    p.add_argument("--port", dest="labeling.port", type=int, metavar="PORT", help="Port (default 8501).")
    p.add_argument("--simulate", metavar="KIND", choices=["sentiment", "descriptiveness", "rouge"],
                   help="Label with a simulated labeler: sentiment, descriptiveness or rouge.")
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


def sample(args, overrides) -> int:
    from dataclasses import replace

    from rlhf.labeling.batches import sample_for_labeling
    from rlhf.models.loading import load_model_for
    from rlhf.tasks.queries import queries_for

    config = load_config(args.config, overrides)
    check_run_dir(config)
    # The model and the prompts are checked before the run directory or the store is written.
    # The config keeps naming the base model; the samples come from the trained policy when one is named.
    policy = replace(config, model=replace(config.model, name=config.labeling.policy)) if config.labeling.policy else config
    model, tokenizer = load_model_for(policy)
    queries = queries_for(config, tokenizer, "train")
    store = open_store(config)  # before config.yaml: a damaged store is refused with nothing written
    write_run_config(config)
    stored = sample_for_labeling(config, store, model, tokenizer, queries, config.labeling.num_queries, log=log)
    log(f"{stored} new batches; {store.count_batches()} in {mask_url(config.database_url)}")
    return 0


def labelers(args, overrides) -> int:
    config = load_config(args.config, overrides)
    command = args.labelers_command
    if command == "add":
        _check_store_folder(config)
        password = _read_password(args.password_stdin)  # before the store is created: a refused password writes nothing
        labeler = open_store(config).add_labeler(args.name, password, "admin" if args.admin else "labeler", actor=_cli_actor())
        log(f"added {labeler.role} {labeler.name!r} to {mask_url(config.database_url)}")
        return 0
    if not config.has_label_store():
        if command in ("list", "log"):
            log(f"run '{config.name}' has no label store yet: no labelers")
            return 0
        raise RLHFError(f"run '{config.name}' has no label store yet: add labelers with `rlhf labelers add`")
    store = existing_store(config, "add labelers with `rlhf labelers add`")
    if command == "list":
        for labeler in store.labelers():
            print(f"{labeler.name:24} {labeler.role:8} {'active' if labeler.active else 'deactivated'}")
    elif command == "log":
        for action in store.admin_actions():
            print(f"{action.at:%Y-%m-%d %H:%M:%S}  {action.actor:16} {action.action:15} {action.target:24} {action.detail or ''}")
    elif command == "reset-password":
        print(store.reset_password(args.name, actor=_cli_actor()))
        log(f"one-time password for {args.name!r} printed above: {args.name} chooses a new one at the next sign-in")
    elif command == "role":
        store.set_role(args.name, args.role, actor=_cli_actor())
        log(f"{args.name!r} is now {args.role}")
    else:
        store.set_active(args.name, command == "activate", actor=_cli_actor())
        log(f"{args.name!r} {command}d")
    return 0


def _cli_actor() -> str:
    """Who an action from the command line is recorded as: the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in this environment (a container without passwd entry)
        return "cli"


def _check_store_folder(config: Config) -> None:
    """A SQLite label store lives in the run directory, which must then be writable; a database server needs none."""
    if not config.labeling.database_url:
        check_run_dir(config)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            raise RLHFError("the two passwords differ; nothing was changed")
    return check_new_password(password)


def label(args, overrides) -> int:
    config = load_config(args.config, overrides)
    if args.simulate:
        _check_store_folder(config)
    else:
        check_run_dir(config)  # the app reads the config from the run directory's copy
    store = existing_store(config, f"run `rlhf sample --config {args.config}` first")
    if store.count_batches() == 0:
        raise RLHFError(f"the label store has no sample batches yet: run `rlhf sample --config {args.config}` first")
    if args.simulate:
        return _simulate(config, store, args.simulate, args.limit)
    path = write_run_config(config)
    url = f"http://{config.labeling.host}:{config.labeling.port}"
    log(f"labeling app for run '{config.name}' at {url} (Ctrl+C to stop)")
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.address", config.labeling.host,
           "--server.port", str(config.labeling.port), "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal",
           "--server.fileWatcherType", "none"]
    return serve(cmd, app_environment(config, path))


FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
STOP_GRACE_S = 15.0  # Streamlit closes its sessions and the port in well under a second; then it is killed


def serve(cmd: list[str], env: dict) -> int:
    """Run the app server in the foreground and stop it with this process.

    `subprocess.call` alone left the server running, holding the port, when this process got SIGTERM
    (from a service manager or `kill`): only Ctrl+C reached both, through the terminal's process group.
    Each of these signals is passed on to the server, which is waited for; it exits with the server.
    """
    server = subprocess.Popen(cmd, env=env)
    previous = {sig: signal.signal(sig, lambda number, _frame: server.send_signal(number)) for sig in FORWARDED}
    try:
        return server.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if server.poll() is None:  # this process is leaving for another reason (an exception)
            server.terminate()
            try:
                server.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def app_environment(config: Config, config_path: Path) -> dict:
    """The app's environment: RLHF_CONFIG names the run directory's copy of the config, whose database
    password is masked; the real URL travels in RLHF_DATABASE_URL (never on a command line or on disk)."""
    env = {**os.environ, "RLHF_CONFIG": str(Path(config_path).resolve())}
    if config.labeling.database_url:
        env[DATABASE_URL_ENV] = config.labeling.database_url
    return env


def _simulate(config: Config, store, kind: str, limit) -> int:
    from rlhf.labeling.simulated import simulate

    n = simulate(store, kind, task=config.task, temperature=config.labeling.simulate_temperature,
                 labelers_per_batch=config.labeling.labelers_per_batch, seed=config.seed, limit=limit,
                 count_machines=config.labeling.count_machine_labelers, gold_rate=config.labeling.gold_rate)
    log(f"sim:{kind} stored {n} labels")
    return 0


def export(args, overrides) -> int:
    from rlhf.labeling.export import export_labels
    from rlhf.run.files import check_writable

    config = load_config(args.config, overrides)
    out = Path(args.out) if args.out else config.layout.exports
    check_writable(out, "--out" if args.out else "the exports folder", folder=True,
                   fix="choose another directory" if args.out else "pass --out DIR to write elsewhere")
    store = existing_store(config, f"sample and label first (`rlhf sample --config {args.config}`, then `rlhf label`)")
    written = export_labels(store, out, config.task.name)
    for name, path in written.items():
        log(f"{name}: {path}")
    return 0


def import_labels(args, overrides) -> int:
    from rlhf.labeling.importer import check_for_new_store, read_best_of_4, read_openai_labels, store_labels

    if args.format == "openai" and not args.tokenizer:
        raise RLHFError("--format openai needs --tokenizer: the GPT-2 tokenizer folder the token ids come from")
    config = load_config(args.config, overrides)
    _check_store_folder(config)
    # The whole file is read and checked before the store (and the run directory) is touched.
    records = read_openai_labels(args.file, args.tokenizer) if args.format == "openai" else read_best_of_4(args.file)
    if not config.has_label_store():
        check_for_new_store(records)
    n = store_labels(open_store(config), records, config.task.name)
    log(f"imported {n} labels into {mask_url(config.database_url)}")
    return 0
