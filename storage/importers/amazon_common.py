"""What the Amazon review-data importers share (:mod:`.amazon2014`, :mod:`.amazon2018`,
:mod:`.amazon2023`): safe line parsing (JSON, or Python literals read with ``ast``, never
``eval``), the reviews-then-metadata reader, derived review ids, duplicates.

A family's reviews file is read line by line (gzip or plain, :mod:`.lines`), every review
validated, then its optional metadata file; only the metadata of reviewed products is kept
(a metadata file alone imports all its products). A product with reviews but no metadata
record is created with an empty text and no title (the app names it by its id). These
sources carry no review id: each family derives a stable one from the reviewer, the product
and the time (see its ``ID_NOTE``); the same review in the same file always gets the same id,
so re-importing is idempotent. An exact repeat of a review (same id and values, as the 2018
files hold) is dropped and counted; a different review under the same derived id gets
``#2``, ``#3``... in file order. Reviews without text are dropped and counted.

Votes: a review with more helpful votes than votes in all (Fine Food Ids 44737 and 64422)
keeps its helpful votes, which make the label (MMSS.md), and its total is raised to them
(:func:`raise_total`); the report's notes say how many (:func:`raised_total_note`).
Python-literal strings holding UTF-8 bytes as ``\\x`` escapes (the 2014 metadata, written
by Python 2: ``'Caf\\xc3\\xa9'``) are read as the text they encode (:func:`utf8_bytes_text`).
"""
from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from ..errors import CatalogueError
from ..records import label_from_votes
from . import fields, lines
from .fields import FieldError
from .rows import Catalogue, ParsedProduct, ParsedReview, Progress, ProgressTicker, Where

__all__ = [
    "Family", "json_line", "literal_line", "json_or_literal_line", "helpful_pair", "join_text", "category_path",
    "keep_extras", "review_values", "derived_id", "read_family", "raise_total", "raised_total_note", "utf8_bytes_text",
]

DROP_NO_TEXT = "review without text"
DROP_DUPLICATE = "exact duplicate review (same reviewer, product, time and text)"
DROP_META_UNREVIEWED = "metadata record of a product without reviews in the file"
DROP_META_REPEAT = "repeated metadata record (the first one is kept)"


@dataclass(frozen=True)
class Family:
    """One dataset family: how its lines parse and what a review / a metadata record becomes."""

    name: str
    title: str
    parse_review_line: Callable[[str], dict]
    parse_meta_line: Callable[[str], dict]
    review: Callable[[dict], Optional[tuple[str, str, dict]]]
    """obj -> (derived id, product id, review values) or None to drop it (no text); FieldError."""
    meta: Callable[[dict], dict]
    """obj -> product values; FieldError."""
    product_field: str
    """The review field naming the product (for errors)."""
    meta_id_field: str
    id_note: str
    helpful_field: str = "helpful[0]"
    """The review field(s) holding the helpful and the total votes (for the report's notes)."""
    total_field: str = "helpful[1]"


# -- line parsing ------------------------------------------------------------------------

def json_line(text: str) -> dict:
    return fields.parse_json_object(text, unique_keys=False)


def next_free_id(rid: str, taken) -> str:
    """``rid#2``, ``rid#3``...: the first not in ``taken``, for a different review that came
    under an id already used (derived ids of two reviews can meet)."""
    n = 2
    while f"{rid}#{n}" in taken:
        n += 1
    return f"{rid}#{n}"


_LITERAL_ERRORS = (ValueError, TypeError, SyntaxError, MemoryError, RecursionError)


def utf8_bytes_text(s: str) -> str:
    """``s`` read back as UTF-8 when it is UTF-8 bytes held as characters U+0080-U+00FF (a
    Python 2 byte string's repr: ``'Caf\\xc3\\xa9'`` -> "Café"); else ``s`` unchanged (a
    latin-1 ``'Caf\\xe9'`` or a real "Café" is not valid UTF-8 as bytes and stays)."""
    if s.isascii():
        return s
    try:
        return s.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return s


def _plain(name: str, v: Any) -> Any:
    """A literal's value as JSON can hold it (tuples become lists); sets, bytes, complex refused;
    strings of UTF-8 bytes read as UTF-8 (:func:`utf8_bytes_text`)."""
    if isinstance(v, str):
        return utf8_bytes_text(v)
    if v is None or isinstance(v, (bool, int)):
        return v
    if isinstance(v, float):
        return fields.check_extra(name, v)
    if isinstance(v, (list, tuple)):
        return [_plain(name, x) for x in v]
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if not isinstance(k, str):
                raise FieldError(name, f"has a non-string key {k!r}")
            out[utf8_bytes_text(k)] = _plain(name, x)
        return out
    raise FieldError(name, f"holds a {type(v).__name__}, which ReviewScope does not read")


def literal_line(text: str) -> dict:
    """One Python-literal dict (the 2014 metadata lines), read with ``ast``: only literals
    (strings, numbers, lists, tuples, dicts, True/False/None) are accepted; a call, a name or
    any other expression is refused, never evaluated, and the error names the field holding it."""
    src = text.strip()
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError as exc:
        raise FieldError(None, f"not a Python literal dict (syntax error at column {exc.offset}: {exc.msg})") from None
    except (ValueError, MemoryError, RecursionError):
        raise FieldError(None, "not a Python literal dict (nested too deeply or NUL characters)") from None
    body = tree.body
    if not isinstance(body, ast.Dict):
        raise FieldError(None, f"expected a dict {{...}}, got a Python {type(body).__name__} expression")
    out: dict[str, Any] = {}
    for k, v in zip(body.keys, body.values):
        if k is None:
            raise FieldError(None, "'**' unpacking in a dict is not a literal; refused")
        try:
            key = ast.literal_eval(k)
        except _LITERAL_ERRORS:
            raise FieldError(None, f"a key is not a literal ({(ast.get_source_segment(src, k) or '?')[:60]!r}); refused, "
                                   "never evaluated") from None
        if not isinstance(key, str):
            raise FieldError(None, f"keys must be strings, got {key!r}")
        try:
            value = ast.literal_eval(v)
        except _LITERAL_ERRORS:
            seg = (ast.get_source_segment(src, v) or "?")[:60]
            raise FieldError(key, f"is not a Python literal ({seg!r}: a call, a name or an expression); refused, "
                                  "never evaluated") from None
        if key in out:
            raise FieldError(key, "the field appears twice in the same dict")
        out[key] = _plain(key, value)
    return out


def json_or_literal_line(text: str) -> dict:
    """JSON when it parses as JSON (fast path), else a Python-literal dict (:func:`literal_line`)."""
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return literal_line(text)
    if not isinstance(obj, dict):
        raise FieldError(None, f"expected an object {{...}}, got {fields.type_name(obj)}")
    return obj


# -- values --------------------------------------------------------------------------------

def helpful_pair(name: str, v: Any) -> tuple[int, Optional[int]]:
    """``[helpful, total]`` (a list, or its text "[13, 14]" as CSV exports hold it) -> counts.
    Missing -> (0, None)."""
    if v is None or v == "":
        return 0, None
    if isinstance(v, str):
        try:
            v = json.loads(v)
        except json.JSONDecodeError:
            raise FieldError(name, f"must be [helpful votes, total votes], got {v[:40]!r}") from None
    if not isinstance(v, (list, tuple)) or len(v) != 2:
        raise FieldError(name, f"must be [helpful votes, total votes], got {str(v)[:40]!r}")
    helpful = fields.votes({name: v[0]}, name, required=True)
    total = fields.votes({name: v[1]}, name, required=True)
    return helpful, total


def join_text(name: str, v: Any) -> str:
    """A string, or a list of strings (2018/2023 descriptions) joined with line breaks."""
    if v is None:
        return ""
    if isinstance(v, str):
        return fields.opt_str({name: v}, name)
    if isinstance(v, list):
        return "\n".join(fields.str_list({name: v}, name, max_chars=10**7))
    raise FieldError(name, f"must be a string or a list of strings, got {fields.type_name(v)}")


def category_path(name: str, v: Any) -> str:
    """A category path: a string, a list of strings, or (2014) a list of such lists, whose
    first path is used; joined with " > " and cut to the category length."""
    if v is None or v == [] or v == "":
        return ""
    if isinstance(v, list) and v and isinstance(v[0], list):
        v = v[0]
    if isinstance(v, str):
        s = v
    elif isinstance(v, list) and all(isinstance(x, str) for x in v):
        s = " > ".join(x.strip() for x in v if x.strip())
    else:
        raise FieldError(name, f"must be a category name or a list of names, got {fields.type_name(v)}")
    return fields.opt_str({name: s}, name)[:fields.MAX_CATEGORY_CHARS]


def keep_extras(obj: dict, known: frozenset, dropped: frozenset, renamed: dict[str, str]) -> dict:
    """Fields to keep in ``extra``: ``renamed`` ones under their new names, every other field
    that is neither ``known`` (read into a column) nor ``dropped`` under its own name."""
    out = {}
    for k, v in obj.items():
        if k in known or k in dropped or v is None:
            continue
        out[renamed.get(k, k)] = fields.check_extra(k, v)
    return out


def review_values(*, title: str, text: str, rating, helpful: int, total, time, image_urls: list, extra: dict) -> dict:
    return {"title": title, "text": text, "rating": rating, "helpful_votes": helpful, "total_votes": total, "time": time,
            "label": label_from_votes(helpful), "image_urls": image_urls, "extra": extra}


def raise_total(values: dict) -> bool:
    """More helpful votes than votes in all (``total_votes`` < ``helpful_votes``): the helpful
    votes are kept (they make the label, MMSS.md) and the total is raised to them. True when
    it was raised (the reader counts them for the report's notes)."""
    total = values.get("total_votes")
    if total is not None and total < values["helpful_votes"]:
        values["total_votes"] = values["helpful_votes"]
        return True
    return False


def raised_total_note(n: int, helpful_field: str, total_field: str) -> str:
    return (f"{n} review{'s' if n != 1 else ''} had more helpful votes than votes in all ({helpful_field} > "
            f"{total_field}): helpful votes kept (they make the label), total_votes raised to them")


def derived_id(*parts: Any) -> str:
    """``reviewer:product:time``; longer than an id may be -> a sha256-based id."""
    rid = ":".join("" if p is None else str(p) for p in parts)
    if len(rid) > fields.MAX_ID_CHARS:
        rid = "h:" + hashlib.sha256(rid.encode("utf-8")).hexdigest()[:40]
    return rid


# -- the reader --------------------------------------------------------------------------

def read_family(family: Family, path: Path, reviews: Optional[Path], meta: Optional[Path],
                progress: Progress = None) -> Catalogue:
    """Phase 1 for a family: its reviews file and/or metadata file (no database access)."""
    if reviews is None and meta is None:
        raise CatalogueError(path, None, None, f"no {family.title} reviews or metadata file here")
    cat = Catalogue(format=family.name, path=Path(path))
    total = (lines.count_lines(reviews) if reviews else 0) + (lines.count_lines(meta) if meta else 0)
    ticker = ProgressTicker(progress, total)
    first_line: dict[str, int] = {}  # product id -> first review line
    if reviews is not None:
        cat.files.append(reviews.name)
        raised = _read_reviews(family, reviews, cat, ticker, first_line)
        if not cat.reviews:
            raise CatalogueError(reviews, None, None, "no reviews in the file" + (
                f" ({', '.join(f'{n} {k}' for k, n in cat.dropped.items())})" if cat.dropped else ""))
        cat.notes.append(family.id_note)
        if raised:
            cat.notes.append(raised_total_note(raised, family.helpful_field, family.total_field))
    products: dict[str, ParsedProduct] = {}
    if meta is not None:
        cat.files.append(meta.name)
        _read_meta(family, meta, cat, ticker, products, first_line if reviews is not None else None)
    if reviews is not None:
        missing = 0
        out = []
        for pid, lineno in first_line.items():
            p = products.get(pid)
            if p is None:
                missing += 1
                p = ParsedProduct(pid, {}, [], Where(reviews, lineno), images_given=False)
            out.append(p)
        cat.products = out
        if missing:
            cat.notes.append(f"{missing} of {len(out)} products have no metadata record: stored with an empty text "
                             "(the app names them by their id)")
    else:
        cat.products = list(products.values())
        if not cat.products:
            raise CatalogueError(meta, None, None, "no products in the metadata file")
    ticker.finish()
    return cat


def _read_reviews(family: Family, path: Path, cat: Catalogue, ticker: ProgressTicker, first_line: dict) -> int:
    """Reads the reviews into ``cat``; returns how many had their total votes raised."""
    parse, build, field = family.parse_review_line, family.review, family.product_field
    by_id: dict[str, int] = {}
    raised = 0
    out = cat.reviews
    tick = ticker.tick
    for lineno, text in lines.iter_lines(path):
        tick()
        try:
            row = build(parse(text))
        except FieldError as exc:
            if not text.strip():
                continue
            raise CatalogueError(path, lineno, exc.field, exc.message) from None
        if row is None:
            cat.drop(DROP_NO_TEXT)
            continue
        rid, pid, values = row
        raised_now = raise_total(values)
        prev = by_id.get(rid)
        if prev is not None:
            old = out[prev]
            if old.product_id == pid and old.values == values:
                cat.drop(DROP_DUPLICATE)
                continue
            rid = next_free_id(rid, by_id)
        by_id[rid] = len(out)
        out.append(ParsedReview(rid, pid, values, [], Where(path, lineno), product_field=field, images_given=False))
        raised += raised_now
        if pid not in first_line:
            first_line[pid] = lineno
    return raised


def _read_meta(family: Family, path: Path, cat: Catalogue, ticker: ProgressTicker, products: dict,
               wanted: Optional[dict]) -> None:
    parse, build, id_field = family.parse_meta_line, family.meta, family.meta_id_field
    for lineno, text in lines.iter_lines(path):
        ticker.tick()
        if not text.strip():
            continue
        try:
            obj = parse(text)
            pid = fields.req_id(obj, id_field)
            if wanted is not None and pid not in wanted:
                cat.drop(DROP_META_UNREVIEWED)
                continue
            if pid in products:
                cat.drop(DROP_META_REPEAT)
                continue
            values = build(obj)
        except FieldError as exc:
            raise CatalogueError(path, lineno, exc.field, exc.message) from None
        products[pid] = ParsedProduct(pid, values, [], Where(path, lineno), images_given=False)
