"""What every importer shares: bounded UTF-8 line reading, field validation, the parsed
catalogue, and the one-transaction bulk writer.

An importer has two phases.  Phase 1 reads and validates every row (and every image) into a
:class:`Catalogue` without touching the database; any problem raises
:class:`~storage.errors.CatalogueError` naming the file, the 1-based line and the field.
Phase 2 (:func:`write_catalogue`) writes the whole catalogue in ONE transaction with bulk
statements, so a failure there (an unknown product, a lost lock) also leaves the database
unchanged.
"""
from __future__ import annotations

import getpass
import hashlib
import json
import math
import operator
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional

from sqlalchemy import JSON, Float, Integer, String, delete, func, select, update
from sqlalchemy.orm import Session

from ..errors import CatalogueError
from ..files import media_writer
from ..models import Image, ImageLink, Product, Review
from ..records import label_from_votes
from ..repository.audit import record_audit
from .images import ImageRef, StoredFiles, store_images

Progress = Optional[Callable[[int, int], Any]]

MAX_LINE_BYTES = 10 * 2**20
"""A line (JSONL row, CSV physical line) longer than this is refused without reading it whole."""

MAX_JSON_FILE_BYTES = 2 * 2**30
"""Whole-file JSON (MRHP) larger than this is refused before reading."""

MAX_ID_CHARS = 200
MAX_CATEGORY_CHARS = 300
MAX_URL_CHARS = 4000
MAX_VOTES = 10**9
"""Vote counts above this are taken for corrupt data (the largest real count is in the thousands)."""
MAX_ABS_TIME = 2**53
SPLITS = ("train", "dev", "test")
SPLIT_PERCENT = (64, 16, 20)
"""train/dev/test shares of the hash split (MRHP splits by product in these proportions)."""

_IN_CHUNK = 900  # below SQLite's bound-parameter limit
_PROGRESS_EVERY = 250


_BAD_ID_CHARS = re.compile(r"[\r\n\t\x00]")


class FieldError(Exception):
    """A bad value in one field; the format loop adds the file and the line."""

    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


# ------------------------------------------------------------------ reading lines


def _encoding_problem(raw: bytes, lineno: int) -> str | None:
    if lineno == 1 and (raw.startswith(b"\xff\xfe") or raw.startswith(b"\xfe\xff")):
        return "the file is UTF-16 encoded; ReviewScope reads UTF-8 only (save the file as UTF-8)"
    if b"\x00" in raw:
        return "the line contains NUL bytes (a UTF-16 or binary file?); ReviewScope reads UTF-8 only"
    return None


def decode_line(raw: bytes, path: Path, lineno: int) -> str:
    """Strict UTF-8; a UTF-8 BOM on the first line is skipped; clear errors otherwise."""
    problem = _encoding_problem(raw, lineno)
    if problem:
        raise CatalogueError(path, lineno, None, problem)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start:exc.start + 1].hex()
        raise CatalogueError(
            path, lineno, None,
            f"not valid UTF-8 (byte 0x{bad} at byte {exc.start + 1} of the line; latin-1 or cp1252?); "
            "ReviewScope reads UTF-8 only (save the file as UTF-8)",
        ) from None
    if lineno == 1 and text.startswith("\ufeff"):
        text = text[1:]
    return text


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, decoded line)`` for every line of ``path``, 1-based, newline kept.

    Each line is read with ``readline(limit)`` so an over-long line is refused after at most
    :data:`MAX_LINE_BYTES` + 1 bytes, never read whole into memory.
    """
    cap = MAX_LINE_BYTES  # read at call time: tests lower it
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise CatalogueError(path, None, None, f"cannot read the file: {exc.strerror or exc}") from None
    with f:
        lineno = 0
        while True:
            raw = f.readline(cap + 1)
            if not raw:
                return
            lineno += 1
            if len(raw) > cap and not (len(raw) == cap + 1 and raw.endswith(b"\n")):
                raise CatalogueError(
                    path, lineno, None, f"line is longer than {cap:,} bytes; refused (a corrupt or non-catalogue file?)"
                )
            yield lineno, decode_line(raw, path, lineno)


def count_lines(path: Path) -> int:
    """Newline count (plus an unterminated last line), read in chunks: the progress total."""
    n = 0
    last = b""
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                n += chunk.count(b"\n")
                last = chunk
    except OSError:
        return 0
    return n + (1 if last and not last.endswith(b"\n") else 0)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    d = dict(pairs)
    if len(d) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise FieldError(k, "the field appears twice in the same object")
            seen.add(k)
    return d


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys)


def parse_json_object(text: str) -> dict:
    """One JSONL row: a JSON object, duplicate keys refused. Raises FieldError."""
    try:
        obj = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise FieldError(None, f"invalid JSON at column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise FieldError(None, "invalid JSON: nested too deeply") from None
    if not isinstance(obj, dict):
        raise FieldError(None, f"expected a JSON object {{...}}, got {type_name(obj)}")
    return obj


# ------------------------------------------------------------------ field validation


def type_name(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def _check_text(name: str, s: str) -> str:
    if s.isascii():
        return s
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise FieldError(name, "contains an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)") from None
    return s


def req_id(obj: dict, name: str) -> str:
    if name not in obj:
        raise FieldError(name, "required field is missing")
    v = obj[name]
    if not isinstance(v, str):
        raise FieldError(name, f"must be a string, got {type_name(v)}")
    if not v.strip():
        raise FieldError(name, "must not be empty")
    if len(v) > MAX_ID_CHARS:
        raise FieldError(name, f"is longer than {MAX_ID_CHARS} characters")
    if _BAD_ID_CHARS.search(v):
        raise FieldError(name, "must not contain tabs, line breaks or NUL characters")
    return _check_text(name, v)


def opt_str(obj: dict, name: str, *, required: bool = False, max_chars: int | None = None) -> str:
    if name not in obj:
        if required:
            raise FieldError(name, "required field is missing")
        return ""
    v = obj[name]
    if v is None:
        if required:
            raise FieldError(name, "must be a string, got null")
        return ""
    if not isinstance(v, str):
        raise FieldError(name, f"must be a string, got {type_name(v)}")
    if max_chars is not None and len(v) > max_chars:
        raise FieldError(name, f"is longer than {max_chars} characters")
    return _check_text(name, v)


def _whole_number(name: str, v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise FieldError(name, f"must be {what}, got {type_name(v)}")
    if isinstance(v, float):
        if not math.isfinite(v):
            raise FieldError(name, f"must be {what}, got {v!r}")
        if not v.is_integer():
            raise FieldError(name, f"must be {what}, got {v!r}")
        v = int(v)
    return v


def votes(obj: dict, name: str, *, required: bool) -> Optional[int]:
    if name not in obj or obj[name] is None:
        if required:
            raise FieldError(name, "required field is missing" if name not in obj else "must be a whole number >= 0, got null")
        return None
    v = _whole_number(name, obj[name], "a whole number >= 0")
    if v < 0:
        raise FieldError(name, f"must be >= 0, got {v}")
    if v > MAX_VOTES:
        raise FieldError(name, f"is implausibly large ({v}; at most {MAX_VOTES:,})")
    return v


def rating(obj: dict, name: str = "rating") -> Optional[float]:
    v = obj.get(name)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise FieldError(name, f"must be a number from 1 to 5, got {type_name(v)}")
    if not math.isfinite(v) or not 1 <= v <= 5:
        raise FieldError(name, f"must be a number from 1 to 5, got {v!r}")
    return float(v)


def label(obj: dict, name: str = "label") -> Optional[int]:
    v = obj.get(name)
    if v is None:
        return None
    v = _whole_number(name, v, "a whole number from 0 to 4")
    if not 0 <= v <= 4:
        raise FieldError(name, f"must be from 0 to 4, got {v}")
    return v


def unix_time(obj: dict, name: str = "time") -> Optional[int]:
    v = obj.get(name)
    if v is None:
        return None
    v = _whole_number(name, v, "whole unix seconds")
    if abs(v) > MAX_ABS_TIME:
        raise FieldError(name, f"is out of range ({v})")
    return v


def split(obj: dict, name: str = "split") -> Optional[str]:
    v = obj.get(name)
    if v is None or v == "":
        return None
    if v not in SPLITS:
        raise FieldError(name, f"must be one of train, dev, test; got {v!r}")
    return v


def str_list(obj: dict, name: str, *, max_chars: int = MAX_URL_CHARS) -> list[str]:
    v = obj.get(name)
    if v is None or v == []:
        return []
    if not isinstance(v, list):
        raise FieldError(name, f"must be a list of strings, got {type_name(v)}")
    for i, s in enumerate(v):
        if not isinstance(s, str):
            raise FieldError(name, f"entry {i} must be a string, got {type_name(s)}")
        if len(s) > max_chars:
            raise FieldError(name, f"entry {i} is longer than {max_chars} characters")
        _check_text(name, s)
    return list(v)


def check_extra(name: str, v: Any) -> Any:
    """Extra fields are kept as JSON: refuse NaN/Infinity and broken strings in them."""
    if isinstance(v, float):
        if not math.isfinite(v):
            raise FieldError(name, f"{v!r} is not valid JSON")
    elif isinstance(v, str):
        _check_text(name, v)
    elif isinstance(v, list):
        for x in v:
            check_extra(name, x)
    elif isinstance(v, dict):
        for k, x in v.items():
            check_extra(name, x)
    return v


def hash_split(product_id: str) -> str:
    """Stable split from sha256 of the product id: 64/16/20 % train/dev/test."""
    h = int.from_bytes(hashlib.sha256(product_id.encode("utf-8")).digest()[:8], "big") % 100
    if h < SPLIT_PERCENT[0]:
        return "train"
    if h < SPLIT_PERCENT[0] + SPLIT_PERCENT[1]:
        return "dev"
    return "test"


def effective_label(explicit: Optional[int], helpful_votes: int) -> Optional[int]:
    return explicit if explicit is not None else label_from_votes(helpful_votes)


# ------------------------------------------------------------------ the parsed catalogue


@dataclass
class Where:
    """Where a row came from, for errors raised after parsing."""

    path: Path
    line: Optional[int]
    row: Optional[str] = None  # a row label for files that are not line-based (MRHP)

    def error(self, field: str | None, message: str) -> CatalogueError:
        if self.row is not None:
            message = f"row {self.row}: {message}"
        return CatalogueError(self.path, self.line, field, message)


@dataclass
class ParsedProduct:
    product_id: str
    values: dict[str, Any]
    """Columns to set (without ``product_id``). Keys absent here are left as they are on update."""
    images: list[ImageRef]
    where: Where
    images_given: bool = True
    """False when the input says nothing about this product's images: its links stay."""


@dataclass
class ParsedReview:
    review_id: str
    product_id: str
    values: dict[str, Any]
    images: list[ImageRef]
    where: Where
    product_field: str = "product_id"
    images_given: bool = True


PRODUCT_DEFAULTS: dict[str, Any] = {
    "title": "", "description": "", "category": "", "image_urls": [], "extra": {},
}
REVIEW_DEFAULTS: dict[str, Any] = {
    "title": "", "text": "", "rating": None, "helpful_votes": 0, "total_votes": None, "time": None,
    "label": None, "image_urls": [], "extra": {},
}


@dataclass
class Catalogue:
    format: str
    path: Path
    files: list[str] = field(default_factory=list)
    products: list[ParsedProduct] = field(default_factory=list)
    reviews: list[ParsedReview] = field(default_factory=list)


@dataclass
class ImportReport:
    """What one import did."""

    format: str
    path: str
    products_added: int = 0
    products_updated: int = 0
    reviews_added: int = 0
    reviews_updated: int = 0
    images: int = 0
    """Distinct image files referenced by the catalogue."""
    images_added: int = 0
    """Images new to the database (the others were already stored, same sha256)."""
    seconds: float = 0.0


class ProgressTicker:
    """Calls ``progress(done, total)`` every few rows and at the end (a raising callback aborts)."""

    def __init__(self, progress: Progress, total: int):
        self.progress = progress
        self.total = max(int(total), 0)
        self.done = 0
        if progress is not None:
            progress(0, self.total)

    def tick(self, n: int = 1) -> None:
        self.done += n
        if self.progress is not None and self.done % _PROGRESS_EVERY == 0:
            self.progress(min(self.done, self.total), self.total)

    def finish(self) -> None:
        if self.progress is not None:
            self.total = max(self.total, self.done)
            self.progress(self.total, self.total)


# ------------------------------------------------------------------ phase 2: writing


def _chunks(seq: list, n: int = _IN_CHUNK) -> Iterable[list]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def _ids_by_key(session: Session, key_col, pk_col, keys: Iterable[str]) -> dict[str, int]:
    """``key -> primary key`` of the rows whose ``key_col`` is in ``keys``."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return {}
    if len(keys) > 4 * _IN_CHUNK:
        # Many keys: one scan of the (key, pk) index beats dozens of IN (...) queries unless
        # the table is much larger than the catalogue.
        n_rows = session.scalar(select(func.count()).select_from(key_col.table))
        if n_rows == 0:
            return {}
        if n_rows <= 20 * len(keys):
            wanted = set(keys)
            return {k: pk for k, pk in session.execute(select(key_col, pk_col)) if k in wanted}
    out: dict[str, int] = {}
    for chunk in _chunks(keys):
        out.update(session.execute(select(key_col, pk_col).where(key_col.in_(chunk))).all())
    return out


SQLITE_DRIVER_INSERT = True
"""On SQLite, insert plain rows with one DBAPI executemany (JSON columns dumped here)
instead of SQLAlchemy's per-row parameter processing: about twice as fast for large
catalogues. Other databases always take the Core path."""


def insert_many(session: Session, table, rows: list[dict]) -> None:
    """Bulk INSERT of ``rows`` (all with the same keys, every column value given)."""
    if not rows:
        return
    conn = session.connection()
    keys = list(rows[0])
    columns = table.columns
    simple = all(k in columns and isinstance(columns[k].type, (JSON, Integer, Float, String)) for k in keys)
    if not (SQLITE_DRIVER_INSERT and conn.dialect.name == "sqlite" and simple):
        session.execute(table.insert(), rows)
        return
    json_idx = [i for i, k in enumerate(keys) if isinstance(columns[k].type, JSON)]

    def dumps(v, _dumps=json.dumps):
        # empty lists / objects (most image_urls and extra values) without the encoder
        if not v and (v == [] or v == {}):
            return "[]" if v == [] else "{}"
        return _dumps(v)

    get = operator.itemgetter(*keys)
    params = []
    for r in rows:
        values = list(get(r))
        for i in json_idx:
            values[i] = dumps(values[i])
        params.append(tuple(values))
    names = ", ".join('"' + k + '"' for k in keys)
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" * len(keys))})'
    conn.exec_driver_sql(sql, params)


def _bulk_update(session: Session, model, rows: list[dict]) -> None:
    """ORM bulk UPDATE by primary key, one executemany per set of columns."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(sorted(r)), []).append(r)
    for group in groups.values():
        session.execute(update(model), group)


def _actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "importer"


def write_catalogue(session: Session, cat: Catalogue, media_dir: Path, stored: StoredFiles, actor: str | None = None) -> ImportReport:
    """Phase 2: write ``cat`` in the caller's transaction (bulk statements). Image files are
    written last, into ``stored`` so the caller can remove them if the transaction fails."""
    report = ImportReport(format=cat.format, path=str(cat.path))
    product_table = Product.__table__
    review_table = Review.__table__

    # -- products
    existing_p = _ids_by_key(session, Product.product_id, Product.id, (p.product_id for p in cat.products))
    new_p, upd_p = [], []
    for p in cat.products:
        pk = existing_p.get(p.product_id)
        if pk is None:
            row = {**PRODUCT_DEFAULTS, "split": p.values.get("split") or hash_split(p.product_id), **p.values}
            row["product_id"] = p.product_id
            new_p.append(row)
        else:
            upd_p.append({"id": pk, **p.values})
    if new_p:
        session.execute(product_table.insert(), new_p)
    if upd_p:
        _bulk_update(session, Product, upd_p)
    report.products_added, report.products_updated = len(new_p), len(upd_p)

    # -- product primary keys for every review (this catalogue's and earlier imports')
    wanted = {r.product_id for r in cat.reviews} | {p.product_id for p in cat.products if p.images}
    product_pk = _ids_by_key(session, Product.product_id, Product.id, wanted) if wanted else {}
    for r in cat.reviews:
        if r.product_id not in product_pk:
            raise r.where.error(
                r.product_field, f"review of unknown product {r.product_id!r} (not in this catalogue nor in the database)"
            )

    # -- reviews
    existing_r = _ids_by_key(session, Review.review_id, Review.id, (r.review_id for r in cat.reviews))
    new_r, upd_r = [], []
    for r in cat.reviews:
        pk = existing_r.get(r.review_id)
        if pk is None:
            row = {**REVIEW_DEFAULTS, **r.values}
            row["review_id"] = r.review_id
            row["product_pk"] = product_pk[r.product_id]
            new_r.append(row)
        else:
            upd_r.append({"id": pk, "product_pk": product_pk[r.product_id], **r.values})
    if new_r:
        insert_many(session, review_table, new_r)
    if upd_r:
        _bulk_update(session, Review, upd_r)
    report.reviews_added, report.reviews_updated = len(new_r), len(upd_r)

    # -- images: rows by sha256, then links of the imported owners (replaced on re-import)
    refs: dict[str, ImageRef] = {}
    for owner in (*cat.products, *cat.reviews):
        for ref in owner.images:
            refs.setdefault(ref.sha256, ref)
    report.images = len(refs)
    # links of updated owners are replaced, unless the input says nothing about their images
    upd_p_pks = [existing_p[p.product_id] for p in cat.products if p.images_given and p.product_id in existing_p]
    upd_r_pks = [existing_r[r.review_id] for r in cat.reviews if r.images_given and r.review_id in existing_r]
    for chunk in _chunks(upd_p_pks):
        session.execute(delete(ImageLink).where(ImageLink.product_pk.in_(chunk)))
    for chunk in _chunks(upd_r_pks):
        session.execute(delete(ImageLink).where(ImageLink.review_pk.in_(chunk)))
    if refs:
        image_pk = _ids_by_key(session, Image.sha256, Image.id, refs)
        new_images = [
            {"sha256": s, "relpath": ref.relpath, "width": ref.width, "height": ref.height, "format": ref.format,
             "n_bytes": ref.n_bytes}
            for s, ref in refs.items() if s not in image_pk
        ]
        if new_images:
            session.execute(Image.__table__.insert(), new_images)
            image_pk = _ids_by_key(session, Image.sha256, Image.id, refs)
        report.images_added = len(new_images)
        review_pk = _ids_by_key(session, Review.review_id, Review.id, (r.review_id for r in cat.reviews if r.images))
        links = []
        for p in cat.products:
            for pos, ref in enumerate(p.images):
                links.append({"image_id": image_pk[ref.sha256], "product_pk": product_pk[p.product_id], "review_pk": None,
                              "position": pos})
        for r in cat.reviews:
            for pos, ref in enumerate(r.images):
                links.append({"image_id": image_pk[ref.sha256], "product_pk": None, "review_pk": review_pk[r.review_id],
                              "position": pos})
        if links:
            session.execute(ImageLink.__table__.insert(), links)

    record_audit(
        session, actor or _actor(), "import", "catalogue", str(cat.path),
        {
            "format": cat.format, "files": cat.files, "products_added": report.products_added,
            "products_updated": report.products_updated, "reviews_added": report.reviews_added,
            "reviews_updated": report.reviews_updated, "images": report.images, "images_added": report.images_added,
        },
    )
    session.flush()
    # Files last: nothing is written to the media folder unless every row went in.
    store_images(list(refs.values()), media_dir, stored)
    return report


def run_import(db, cat: Catalogue, t0: float, actor: str | None = None) -> ImportReport:
    """Phase 2 in ONE transaction (retried a bounded number of times if SQLite is locked);
    media files created by a failed attempt are removed again."""
    stored = StoredFiles()

    def _write(session: Session) -> ImportReport:
        try:
            return write_catalogue(session, cat, Path(db.media_dir), stored, actor=actor)
        except BaseException:
            stored.remove_created()
            raise

    try:
        with media_writer(db.media_dir):  # until the rows naming the files are committed
            report = db.run(_write)
    except BaseException:
        stored.remove_created()  # the commit itself failed
        raise
    report.seconds = time.perf_counter() - t0
    return report
