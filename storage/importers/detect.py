"""Which format a path holds: by name for the ReviewScope JSONL and MRHP folders, by content
(the first lines, decompressed when the file is gzip) for everything else, so a download
keeps working under any name. :func:`detect` returns a :class:`Detected`; when nothing fits,
the error says what the file looked like and lists what was tried.
"""
from __future__ import annotations

import ast
import csv
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import CatalogueError
from . import amazon2014, amazon2018, amazon2023, finefood, jsonl, lines, mrhp

__all__ = ["Detected", "detect", "sniff_file", "TRIED", "MAX_FOLDER_FILES"]

MAX_FOLDER_FILES = 50
"""A folder with more files than this is not searched file by file."""

TRIED = (
    "ReviewScope JSONL folder (products.jsonl / reviews.jsonl); MRHP folder ({cat}.prd|rvw|rel.{train,dev,test}); "
    "ReviewScope CSV (review_id, product_id, text, helpful_votes); Amazon Fine Food Reviews.csv; "
    "Amazon 2014 reviews (reviewerID, asin, helpful), metadata (Python-literal lines with asin) or CSV export; "
    "Amazon 2018 reviews (reviewerID, asin, vote) or metadata (asin, imageURLHighRes ...); "
    "Amazon Reviews 2023 reviews (user_id, parent_asin) or metadata (parent_asin, main_category)"
)
MAP_HINT = "another CSV or JSONL file imports with a column mapping: --map product_id=COLUMN,text=COLUMN,..."

SINGLE_FILE = {"csv", finefood.NAME, amazon2014.CSV_NAME}
"""Formats read from one file (a folder holding one imports that file)."""


@dataclass(frozen=True)
class Detected:
    format: str
    path: Path
    """The folder or file the import is named after."""
    reviews: Optional[Path] = None
    meta: Optional[Path] = None


def _dict_keys(line: str) -> tuple[Optional[set], str]:
    """(keys, "JSON" | "Python literal") of a line holding a dict; (None, why) otherwise. The
    values of a Python-literal line are not evaluated here (the import checks them)."""
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        pass
    else:
        return (set(obj), "JSON") if isinstance(obj, dict) else (None, "JSON but not an object")
    try:
        tree = ast.parse(line.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None, "neither JSON nor a Python literal"
    if not isinstance(tree.body, ast.Dict):
        return None, "not a dict"
    keys = {k.value for k in tree.body.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    return keys, "Python literal"


def _classify_keys(keys: set, syntax: str) -> tuple[Optional[str], Optional[str]]:
    if "reviewerID" in keys and "asin" in keys:
        return (amazon2014.NAME if "helpful" in keys else amazon2018.NAME), "reviews"
    if "user_id" in keys and ({"parent_asin", "helpful_vote", "timestamp"} & keys):
        return amazon2023.NAME, "reviews"
    if "parent_asin" in keys:
        return amazon2023.NAME, "meta"
    if "asin" in keys:
        if syntax == "Python literal" or {"imUrl", "salesRank", "related", "categories"} & keys:
            return amazon2014.NAME, "meta"
        return amazon2018.NAME, "meta"
    return None, None


def _zip_members(path: Path) -> Optional[str]:
    """"a zip archive of A, B, ..." when ``path`` is a zip file (Kaggle's ``archive.zip``
    of Fine Food: Reviews.csv, database.sqlite, hashes.txt), else None."""
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"PK\x03\x04":
                return None
        with zipfile.ZipFile(path) as z:
            names = [n for n in z.namelist() if not n.endswith("/")]
    except (OSError, zipfile.BadZipFile):
        return "a zip archive (unreadable)"
    shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
    return f"a zip archive of {shown or 'no files'}; extract it and import the file inside (or its folder)"


def sniff_file(path: Path) -> tuple[Optional[str], Optional[str], str]:
    """(format, role "reviews" / "meta", what was seen) from the first lines of ``path``;
    format None when it is none of ours."""
    zipped = _zip_members(path)
    if zipped is not None:
        return None, None, zipped
    head = lines.head_lines(path, 2)
    gz = "gzip, " if lines.is_gzip(path) else ""
    if not head:
        return None, None, f"{gz}no readable text at its start (empty, binary or a broken gzip stream?)"
    first = head[0].strip()
    if first.startswith("{"):
        keys, syntax = _dict_keys(first)
        if keys is None:
            return None, None, f"{gz}a first line starting with '{{' that is {syntax}"
        fmt, role = _classify_keys(keys, syntax)
        shown = ", ".join(sorted(keys)[:12]) + (", ..." if len(keys) > 12 else "")
        return fmt, role, f"{gz}{syntax} lines with the keys {shown or '(none)'}"
    try:
        header = [h.strip() for h in next(csv.reader([first]))]
    except (csv.Error, StopIteration):
        return None, None, f"{gz}a first line that is neither JSON nor a CSV header"
    cols = set(header)
    shown = ", ".join(header[:12]) + (", ..." if len(header) > 12 else "")
    seen = f"{gz}a CSV header {shown}" if len(header) > 1 else f"{gz}text starting {first[:40]!r}"
    if finefood.matches(cols):
        return finefood.NAME, "reviews", seen
    if amazon2014.CSV_COLUMNS <= cols:
        return amazon2014.CSV_NAME, "reviews", seen
    if {"review_id", "product_id"} <= cols:
        return "csv", "reviews", seen
    return None, None, seen


def _unknown(path: Path, seen: str) -> CatalogueError:
    return CatalogueError(path, None, None, f"cannot tell the format: the file holds {seen}. Tried: {TRIED}; {MAP_HINT}")


def detect(path: Path | str) -> Detected:
    path = Path(path).expanduser()
    if not path.exists() and not path.is_symlink():
        raise CatalogueError(path, None, None, "no such file or folder")
    if path.is_dir():
        return _detect_folder(path)
    name = path.name
    if name in (jsonl.PRODUCTS_FILE, jsonl.REVIEWS_FILE):
        return Detected("jsonl", path.parent)
    if mrhp.FILE_RE.match(name):
        return Detected("mrhp", path.parent)
    fmt, role, seen = sniff_file(path)
    if fmt is not None:
        return Detected(fmt, path, reviews=path if role == "reviews" else None, meta=path if role == "meta" else None)
    if name.lower().endswith(".csv") or name.lower().endswith(".csv.gz"):
        return Detected("csv", path, reviews=path)  # the CSV importer names the missing columns
    raise _unknown(path, seen)


def _detect_folder(folder: Path) -> Detected:
    if jsonl.is_catalogue_folder(folder):
        return Detected("jsonl", folder)
    if mrhp.is_mrhp_folder(folder):
        return Detected("mrhp", folder)
    try:
        files = sorted(p for p in folder.iterdir() if not p.name.startswith(".") and p.is_file())
    except OSError as exc:
        raise CatalogueError(folder, None, None, f"cannot list the folder: {exc.strerror or exc}") from None
    if len(files) > MAX_FOLDER_FILES:
        raise CatalogueError(folder, None, None, f"not a catalogue folder: it holds {len(files)} files (at most "
                                                 f"{MAX_FOLDER_FILES} are looked at); give the reviews file itself")
    reviews, metas, seen = [], [], []
    for f in files:
        fmt, role, what = sniff_file(f)
        if fmt is None:
            seen.append(f"{f.name}: {what}")
        elif role == "reviews":
            reviews.append((f, fmt))
        else:
            metas.append((f, fmt))
    if len(reviews) > 1:
        raise CatalogueError(folder, None, None, "the folder holds several review files ("
                             + ", ".join(f"{f.name}: {fmt}" for f, fmt in reviews) + "); import them one at a time")
    if reviews:
        f, fmt = reviews[0]
        if fmt in SINGLE_FILE:
            return Detected(fmt, f, reviews=f)
        same = [m for m, mfmt in metas if mfmt == fmt]
        if len(same) > 1:
            raise CatalogueError(folder, None, None, f"the folder holds several {fmt} metadata files ("
                                 + ", ".join(m.name for m in same) + "); keep the one that goes with " + f.name)
        return Detected(fmt, folder, reviews=f, meta=same[0] if same else None)
    if len(metas) == 1:
        m, fmt = metas[0]
        return Detected(fmt, folder, meta=m)
    if metas:
        raise CatalogueError(folder, None, None, "the folder holds metadata files but no reviews file ("
                             + ", ".join(f"{m.name}: {fmt}" for m, fmt in metas) + ")")
    looked = "; ".join(seen[:6]) + ("; ..." if len(seen) > 6 else "") if seen else "no files"
    raise CatalogueError(folder, None, None, f"not a catalogue folder ({looked}). Tried: {TRIED}; {MAP_HINT}")
