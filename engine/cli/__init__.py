"""``reviewscope-engine`` / ``python -m engine``: headless commands.

One module per command group (``catalogue``: import; ``models``; ``recipes``; ``doctor``;
``jobs``: train, score, evaluate), each with a ``register(subparsers)``; ``db`` holds what
they share (``--db``, opening the database). Heavy imports (torch, transformers) happen
inside the commands, so ``--help`` and ``import`` stay fast. The work itself is in
:mod:`engine.jobs`, which never imports this package.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from . import catalogue, doctor, jobs, models, recipes
from .db import DB_ENV

__all__ = ["DB_ENV", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reviewscope-engine", description="ReviewScope headless engine")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (catalogue, models, recipes, doctor, jobs):
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    from storage.errors import StorageError

    from engine.events import EXIT_USER_ERROR

    try:
        return int(args.func(args) or 0)
    except (StorageError, ValueError, FileNotFoundError) as exc:
        _fail(args, exc)
        return EXIT_USER_ERROR
    except OSError as exc:  # disk full, read-only folder, permissions: one line, no traceback
        _fail(args, f"{exc.strerror or exc}" + (f": {exc.filename}" if getattr(exc, "filename", None) else ""))
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _fail(args, exc: BaseException) -> None:
    if getattr(args, "json_progress", False):
        print(json.dumps({"event": "error", "message": str(exc)}), flush=True)
    print(f"error: {exc}", file=sys.stderr)
