"""``import PATH``: a catalogue into the database."""
from __future__ import annotations

import sys

from engine.progress import Progress

from .db import add_common, open_db


def register(sub) -> None:
    p = sub.add_parser("import", help="import a catalogue (JSONL folder, MRHP folder or CSV file)")
    p.add_argument("path")
    add_common(p)
    p.set_defaults(func=cmd_import)


def cmd_import(args) -> int:
    from storage.files import clean_orphan_media
    from storage.importers import import_path

    db = open_db(args)
    for line in clean_orphan_media(db):  # what an import killed earlier left in the media folder
        print(f"note: {line}", file=sys.stderr)
    prog = Progress("import", json_lines=args.json_progress, unit="rows")
    try:
        report = import_path(db, args.path, progress=prog.update)
    finally:
        prog.close()
    d = _report_dict(report)
    prog.event("done", **d)
    if not args.json_progress:
        print(f"imported {args.path} ({d.get('format')}): "
              + ", ".join(f"{k} {v}" for k, v in d.items() if k not in ("format", "path")))
    return 0


def _report_dict(report) -> dict:
    import dataclasses

    if dataclasses.is_dataclass(report):
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in dataclasses.asdict(report).items()}
    return dict(report)
