"""``import PATH [--map TARGET=COLUMN,...]``: a catalogue into the database."""
from __future__ import annotations

import contextlib
import gc
import sys
import time

from engine.progress import Progress

from .db import add_common, open_db


def register(sub) -> None:
    p = sub.add_parser(
        "import",
        help="import a catalogue: JSONL folder, MRHP folder, CSV file, Amazon 2014 / 2018 / 2023 review data "
             "(reviews file, or a folder with reviews + metadata, gzip or plain), Amazon Fine Food Reviews.csv, "
             "or any CSV / JSONL file with --map",
    )
    p.add_argument("path")
    p.add_argument("--map", dest="map", action="append", metavar="TARGET=COLUMN[,TARGET=COLUMN...]",
                   help="read PATH (a CSV or JSONL file) through this column mapping, e.g. "
                        "--map review_id=Id,product_id=Asin,text=Body,helpful_votes=Votes; may be repeated. "
                        "Targets: review_id, product_id (required), text (required), title, rating, helpful_votes, "
                        "total_votes, helpful ([helpful, total]), time, label, image_urls, reviewer_id, reviewer_name, "
                        "verified, style, product_title, product_description, product_category, product_image_urls, "
                        "product_split. Unmapped columns are kept as extras")
    add_common(p)
    p.set_defaults(func=cmd_import)
    q = sub.add_parser(
        "index-search",
        help="add the reviews of earlier imports to the full-text search index now (the first search does it "
             "otherwise; an import leaves it out of its own time)",
    )
    add_common(q)
    q.set_defaults(func=cmd_index_search)


def cmd_import(args) -> int:
    from storage.files import clean_orphan_media
    from storage.importers import import_path
    from storage.importers.mapped import Mapping, parse_map_spec

    mapping = Mapping(columns=parse_map_spec(args.map)) if args.map else None  # before the database is opened
    db = open_db(args)
    for line in clean_orphan_media(db):  # what an import killed earlier left in the media folder
        print(f"note: {line}", file=sys.stderr)
    prog = Progress("import", json_lines=args.json_progress, unit="rows")
    # Fewer cyclic garbage collections during the import: the parsed catalogue is a few
    # container objects per review, all alive until the end, and with the default thresholds
    # the collector's passes over them were ~2 s of a 100,000-review import (about a fifth).
    # The collector stays on (a real cycle is still collected); only its thresholds are raised
    # for the import and put back after it.
    with _fewer_gc_passes():
        try:
            report = import_path(db, args.path, progress=prog.update, mapping=mapping)
        finally:
            prog.close()
    d = _report_dict(report)
    from storage import repository as repo

    behind = db.run(repo.search_backlog)
    if behind:
        d["notes"] = [*d.get("notes", ()), f"{behind} reviews join the search index at the first search "
                                             "(reviewscope-engine index-search adds them now)"]
    prog.event("done", **d)
    if not args.json_progress:
        print(f"imported {args.path} ({d.get('format')}): "
              + ", ".join(f"{k} {v}" for k, v in d.items() if k not in ("format", "path", "dropped", "notes")))
        for reason, n in (d.get("dropped") or {}).items():
            print(f"dropped: {n} {reason}")
        for note in d.get("notes") or ():
            print(f"note: {note}")
    return 0


@contextlib.contextmanager
def _fewer_gc_passes(gen0: int = 100_000, gen1: int = 50, gen2: int = 1_000):
    """Raise the garbage collector's thresholds for the block (collections still run, only less
    often: a young collection every ``gen0`` allocations instead of 700), then restore them."""
    before = gc.get_threshold()
    gc.set_threshold(gen0, gen1, gen2)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _report_dict(report) -> dict:
    import dataclasses

    if dataclasses.is_dataclass(report):
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in dataclasses.asdict(report).items()}
    return dict(report)


def cmd_index_search(args) -> int:
    from storage import repository as repo

    db = open_db(args)
    prog = Progress("index-search", json_lines=args.json_progress, unit="reviews")
    prog.event("started", reviews_waiting=db.run(repo.search_backlog))
    t0 = time.perf_counter()
    n = db.run(repo.catch_up_search_index)  # one transaction: all of them or none
    prog.event("done", reviews_indexed=n, seconds=round(time.perf_counter() - t0, 3))
    prog.close()
    if not args.json_progress:
        print(f"search index: {n} reviews added" if n else "search index: already complete")
    return 0
