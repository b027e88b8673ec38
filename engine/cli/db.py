"""What every command that touches a database shares: ``--db`` / ``--json-progress``, opening
the database, and the name written into the audit log."""
from __future__ import annotations

import argparse
import os
import sys

DB_ENV = "REVIEWSCOPE_DB"
"""Environment variable that gives ``--db`` (how the app passes a database URL to the engine)."""


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="URL", default=os.environ.get(DB_ENV) or None,
                   help=f"SQLAlchemy URL or SQLite file path (default: ${DB_ENV}, else the user data folder's "
                        "database); a URL with a password is better given in ${DB_ENV}, which `ps` does not show")
    p.add_argument("--json-progress", action="store_true",
                   help="print progress as JSON lines on stdout (what the GUI reads)")


def open_db(args):
    """The database of ``--db``, after removing what a killed job left in its models folder."""
    from storage import open_database
    from storage.files import clean_leftovers

    db = open_database(args.db)
    for line in clean_leftovers(db):
        print(f"note: {line}", file=sys.stderr)
    return db


def actor() -> str:
    """Who runs the command, for the audit log."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "engine"
