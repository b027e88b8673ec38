"""Catalogue importers: ``import_path(db, path)`` detects the format and imports it in ONE
transaction.

Formats (see each module): the ReviewScope JSONL catalogue folder (:mod:`.jsonl`; the path
of its ``products.jsonl`` or ``reviews.jsonl`` means the folder), an MRHP folder
(:mod:`.mrhp`; the path of one of its files means the folder), a ReviewScope CSV file
(:mod:`.csv_`), the Amazon review data as downloaded: 2014 (:mod:`.amazon2014`, also its CSV
export), 2018 (:mod:`.amazon2018`), 2023 (:mod:`.amazon2023`), each a reviews file or a folder
with a reviews file and its metadata file, and the Amazon Fine Food ``Reviews.csv``
(:mod:`.finefood`); any other CSV or JSONL file through a column mapping (:mod:`.mapped`,
which also has the preview / guess / check functions a mapping dialog uses). Files may be
gzip. Formats other than the two folders are told by content (:mod:`.detect`).

A malformed row raises :class:`~storage.errors.CatalogueError` ("FILE, line N, field 'F':
message") and leaves the database unchanged. Re-importing is idempotent: rows are matched
by product_id / review_id and updated in place, so flags and predictions stay attached.

Shared by the formats: :mod:`.lines` (bounded UTF-8 line reading, gzip), :mod:`.fields`
(field validation, ISO 8601 times, vote counts), :mod:`.rows` (the parsed catalogue),
:mod:`.amazon_common` (the Amazon families' reader) and :mod:`.writer` (phase 2: the
one-transaction bulk writer; the two phases are described there).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional, Union

from ..errors import CatalogueError
from . import amazon2014, amazon2018, amazon2023, csv_, finefood, jsonl, mapped, mrhp
from .detect import Detected, detect
from .mapped import Mapping
from .rows import Catalogue, ImportReport, Progress, hash_split
from .writer import run_import

__all__ = ["import_path", "read_catalogue", "detect_format", "detect", "Detected", "ImportReport", "Catalogue",
           "hash_split", "FORMATS", "Mapping"]

FORMATS = ("jsonl", "mrhp", "csv", amazon2014.NAME, amazon2014.CSV_NAME, amazon2018.NAME, amazon2023.NAME,
           finefood.NAME, "mapped")

_FAMILIES = {amazon2014.NAME: amazon2014.read_catalogue, amazon2018.NAME: amazon2018.read_catalogue,
             amazon2023.NAME: amazon2023.read_catalogue}


def detect_format(path: Union[str, Path]) -> tuple[str, Path]:
    """``(format, the path to read)`` for ``path``; CatalogueError when it is none of ours
    (the message lists what was tried). :func:`detect` gives the reviews and metadata files too."""
    d = detect(path)
    return d.format, d.path


def _csv_with_hint(path: Path, progress: Progress) -> Catalogue:
    try:
        return csv_.read_catalogue(path, progress)
    except CatalogueError as exc:
        if exc.line == 1 and "required column is missing" in exc.reason:
            raise CatalogueError(exc.path, exc.line, exc.field,
                                 f"{exc.reason} (the header is not a ReviewScope, Amazon Fine Food or Amazon 2014 CSV "
                                 "header either; map its columns: --map product_id=COLUMN,text=COLUMN,...)") from None
        raise


def read_catalogue(path: Union[str, Path], progress: Progress = None, *, mapping: Optional[Mapping] = None) -> Catalogue:
    """Phase 1 only: read and validate ``path`` without touching a database. With ``mapping``
    the file is read as a CSV or JSONL file through that column mapping, whatever it holds."""
    if mapping is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise CatalogueError(p, None, None, "no such file" if not p.exists() else "a column mapping needs a file, "
                                                                                     "not a folder")
        return mapped.read_catalogue(p, mapping, progress)
    d = detect(path)
    if d.format == "jsonl":
        return jsonl.read_catalogue(d.path, progress)
    if d.format == "mrhp":
        return mrhp.read_catalogue(d.path, progress)
    if d.format == "csv":
        return _csv_with_hint(d.path, progress)
    if d.format == finefood.NAME:
        return finefood.read_catalogue(d.path, progress)
    if d.format == amazon2014.CSV_NAME:
        return amazon2014.read_csv(d.path, progress)
    return _FAMILIES[d.format](d.path, d.reviews, d.meta, progress)


def import_path(db, path: Union[str, Path], *, progress: Progress = None, actor: str | None = None,
                mapping: Optional[Mapping] = None) -> ImportReport:
    """Import the catalogue at ``path`` into ``db`` (a :class:`storage.db.Database`).

    ``progress(done, total)`` is called while rows are read and validated (rows of the input
    files); an exception raised by it aborts the import with nothing written. Records an
    AuditEvent "import" with the path and the counts. Returns an :class:`ImportReport`
    (with the rows dropped on purpose, by reason, and notes on how the input was read).
    ``mapping``: read ``path`` (a CSV or JSONL file) through this column mapping.
    """
    t0 = time.perf_counter()
    # The cyclic garbage collector stays on: switching it off is process-wide, and in the app
    # the backlog would then be collected by whichever thread allocates next (gui/workers.py).
    cat = read_catalogue(path, progress, mapping=mapping)
    return run_import(db, cat, t0, actor=actor)
