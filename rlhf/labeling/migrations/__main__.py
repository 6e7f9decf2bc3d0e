"""Developer commands for the label store's migrations (see rlhf/labeling/migrations/__init__.py).

    python -m rlhf.labeling.migrations revision "add labels.note"   # autogenerate the next versions/NNNN_*.py
    python -m rlhf.labeling.migrations current URL                  # the store's revision
    python -m rlhf.labeling.migrations upgrade URL                  # what opening a LabelStore does
    python -m rlhf.labeling.migrations sql URL [FROM:TO]            # print the upgrade SQL instead of running it
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from rlhf.labeling.migrations import alembic_config, current_revision, head_revision, upgrade


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rlhf.labeling.migrations", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    rev = sub.add_parser("revision", help="autogenerate a migration from rlhf/labeling/schema.py")
    rev.add_argument("message")
    rev.add_argument("--empty", action="store_true", help="an empty migration to fill in by hand (data migrations)")
    for name in ("current", "upgrade"):
        sub.add_parser(name).add_argument("url")
    sql = sub.add_parser("sql", help="print the SQL of an upgrade (offline mode)")
    sql.add_argument("url")
    sql.add_argument("range", nargs="?", default="head", help="FROM:TO revisions, default: all (head)")
    args = parser.parse_args(argv)

    if args.cmd == "revision":
        next_id = f"{int(head_revision()) + 1:04d}"
        with tempfile.TemporaryDirectory() as scratch:
            url = f"sqlite:///{Path(scratch) / 'head.db'}"
            engine = create_engine(url)
            upgrade(engine)
            engine.dispose()
            script = command.revision(alembic_config(url=url), args.message, autogenerate=not args.empty, rev_id=next_id)
        print(f"wrote {script.path}: review it, then run the tests (tests/labeling/test_migrations.py)")
    elif args.cmd in ("current", "upgrade"):
        engine = create_engine(args.url)
        try:
            if args.cmd == "upgrade":
                upgrade(engine)
            with engine.connect() as conn:
                print(f"{current_revision(conn) or 'none'} (head: {head_revision()})")
        finally:
            engine.dispose()
    else:
        command.upgrade(alembic_config(url=args.url), args.range, sql=True)


if __name__ == "__main__":
    main()
