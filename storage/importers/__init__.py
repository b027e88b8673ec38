"""Catalogue importers: ``import_path(db, path)`` detects the format and imports it in ONE
transaction.

Formats (see each module): the ReviewScope JSONL catalogue folder (:mod:`.jsonl`; the path
of its ``products.jsonl`` or ``reviews.jsonl`` means the folder), an MRHP folder
(:mod:`.mrhp`; the path of one of its files means the folder) and a CSV file (:mod:`.csv_`).
A malformed row raises :class:`~storage.errors.CatalogueError` ("FILE, line N, field 'F':
message") and leaves the database unchanged. Re-importing is idempotent: rows are matched
by product_id / review_id and updated in place, so flags and predictions stay attached.

Shared by the formats: :mod:`.lines` (bounded UTF-8 line reading), :mod:`.fields` (field
validation), :mod:`.rows` (the parsed catalogue) and :mod:`.writer` (phase 2: the
one-transaction bulk writer; the two phases are described there).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Union

from ..errors import CatalogueError
from . import csv_, jsonl, mrhp
from .rows import Catalogue, ImportReport, Progress, hash_split
from .writer import run_import

__all__ = ["import_path", "read_catalogue", "detect_format", "ImportReport", "Catalogue", "hash_split", "FORMATS"]

FORMATS = ("jsonl", "mrhp", "csv")


def detect_format(path: Union[str, Path]) -> tuple[str, Path]:
    """``(format, the path to read)`` for ``path``; CatalogueError when it is none of ours."""
    path = Path(path).expanduser()
    if not path.exists() and not path.is_symlink():
        raise CatalogueError(path, None, None, "no such file or folder")
    if path.is_dir():
        if jsonl.is_catalogue_folder(path):
            return "jsonl", path
        if mrhp.is_mrhp_folder(path):
            return "mrhp", path
        raise CatalogueError(
            path, None, None,
            "not a catalogue folder: expected products.jsonl/reviews.jsonl (ReviewScope JSONL) "
            "or {cat}.prd|rvw|rel.{train,dev,test} files (MRHP)",
        )
    name = path.name
    if name in (jsonl.PRODUCTS_FILE, jsonl.REVIEWS_FILE):
        return "jsonl", path.parent
    if mrhp.FILE_RE.match(name):
        return "mrhp", path.parent
    if name.lower().endswith(".csv"):
        return "csv", path
    raise CatalogueError(
        path, None, None,
        "cannot tell the format: give a JSONL catalogue folder (or its products.jsonl / reviews.jsonl), "
        "an MRHP folder or a .csv file",
    )


def read_catalogue(path: Union[str, Path], progress: Progress = None) -> Catalogue:
    """Phase 1 only: read and validate ``path`` without touching a database."""
    fmt, target = detect_format(path)
    reader = {"jsonl": jsonl.read_catalogue, "mrhp": mrhp.read_catalogue, "csv": csv_.read_catalogue}[fmt]
    return reader(target, progress)


def import_path(db, path: Union[str, Path], *, progress: Progress = None, actor: str | None = None) -> ImportReport:
    """Import the catalogue at ``path`` into ``db`` (a :class:`storage.db.Database`).

    ``progress(done, total)`` is called while rows are read and validated (rows of the input
    files); an exception raised by it aborts the import with nothing written. Records an
    AuditEvent "import" with the path and the counts. Returns an :class:`ImportReport`.
    """
    t0 = time.perf_counter()
    # The cyclic garbage collector stays on: switching it off is process-wide, and in the app
    # the backlog would then be collected by whichever thread allocates next (gui/workers.py).
    cat = read_catalogue(path, progress)
    return run_import(db, cat, t0, actor=actor)
