"""CSV catalogue: one review per row, a header with the JSONL review field names, product
fields prefixed ``product_`` (``product_title``, ``product_description``, ``product_category``,
``product_image_files``, ``product_image_urls``, ``product_split``; other ``product_*``
columns go to the product's ``extra``, other columns to the review's). ``time``: unix
seconds or an ISO 8601 date / date-time (:func:`.fields.time_value`). The file may be gzip.

Required columns: review_id, product_id, text, helpful_votes. Empty cells of optional
columns mean "not given". List cells (image_files, image_urls) hold a JSON array or
``;``-separated values; image paths are relative to the CSV file's folder. Products are
made from the rows' product_id; only the product columns present in the header are set, so
a CSV without product columns leaves products imported earlier as they were. Rows of one
product must agree on its product fields.
"""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any, Iterator

from ..errors import CatalogueError
from . import fields, lines
from .fields import FieldError
from .images import ImageProblem, ImageResolver
from .rows import Catalogue, ParsedProduct, ParsedReview, Progress, ProgressTicker, Where, effective_label

REQUIRED = ("review_id", "product_id", "text", "helpful_votes")
REVIEW_COLUMNS = frozenset({
    "review_id", "product_id", "title", "text", "rating", "helpful_votes", "total_votes", "time",
    "image_files", "image_urls", "label",
})
PRODUCT_COLUMNS = {
    "product_title": "title", "product_description": "description", "product_category": "category",
    "product_image_files": "image_files", "product_image_urls": "image_urls", "product_split": "split",
}


def _number(name: str, cell: str) -> Any:
    """CSV cell -> int/float for the shared validators; '' -> None."""
    s = cell.strip()
    if s == "":
        return None
    try:
        return int(s)
    except ValueError:
        pass
    try:
        v = float(s)
    except ValueError:
        raise FieldError(name, f"must be a number, got {cell[:40]!r}") from None
    if not math.isfinite(v):
        raise FieldError(name, f"must be a finite number, got {cell[:40]!r}")
    return v


def _list(name: str, cell: str) -> list[str]:
    s = cell.strip()
    if not s:
        return []
    if s.startswith("["):
        try:
            v = json.loads(s)
        except json.JSONDecodeError as exc:
            raise FieldError(name, f"is not a valid JSON list ({exc.msg})") from None
        return fields.str_list({name: v}, name)
    return fields.str_list({name: [p.strip() for p in s.split(";") if p.strip()]}, name)


def _physical_lines(path: Path, counter: list[int]) -> Iterator[str]:
    for lineno, text in lines.iter_lines(path):
        counter[0] = lineno
        yield text


def _images(resolver: ImageResolver, name: str, cell: str) -> list:
    out = []
    for i, rel in enumerate(_list(name, cell)):
        try:
            out.append(resolver.ref(rel))
        except ImageProblem as exc:
            raise FieldError(name, f"entry {i}: {exc}") from None
    return out


def read_catalogue(path: Path, progress: Progress = None) -> Catalogue:
    """Phase 1: read and validate a CSV file (no database access)."""
    path = Path(path)
    cat = Catalogue(format="csv", path=path, files=[path.name])
    resolver = ImageResolver(path.parent)
    ticker = ProgressTicker(progress, max(lines.count_lines(path) - 1, 0))
    physical = [0]
    old_limit = csv.field_size_limit()
    csv.field_size_limit(max(old_limit, lines.MAX_LINE_BYTES))
    try:
        reader = csv.reader(_physical_lines(path, physical), strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise CatalogueError(path, None, None, "the file is empty: no header line") from None
        except csv.Error as exc:
            raise CatalogueError(path, physical[0], None, f"malformed CSV: {exc}") from None
        header = [h.strip() for h in header]
        seen_cols: set[str] = set()
        for h in header:
            if not h:
                raise CatalogueError(path, 1, None, "the header has an empty column name")
            if h in seen_cols:
                raise CatalogueError(path, 1, h, "the column appears twice in the header")
            seen_cols.add(h)
        for col in REQUIRED:
            if col not in seen_cols:
                raise CatalogueError(path, 1, col, "required column is missing from the header")
        width = len(header)
        products: dict[str, ParsedProduct] = {}
        seen_r: dict[str, int] = {}
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise CatalogueError(path, physical[0], None, f"malformed CSV: {exc}") from None
            lineno = reader.line_num
            ticker.tick()
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue  # blank line
            if len(cells) != width:
                raise CatalogueError(path, lineno, None, f"the row has {len(cells)} cells, the header {width}")
            row = dict(zip(header, cells))
            try:
                _parse_row(row, cat, products, seen_r, resolver, path, lineno)
            except FieldError as exc:
                raise CatalogueError(path, lineno, exc.field, exc.message) from None
    finally:
        csv.field_size_limit(old_limit)
    if not cat.reviews:
        raise CatalogueError(path, None, None, "the file has a header but no rows")
    cat.products = list(products.values())
    ticker.finish()
    return cat


def _parse_row(row: dict, cat: Catalogue, products: dict, seen_r: dict, resolver, path: Path, lineno: int) -> None:
    rid = fields.req_id(row, "review_id")
    pid = fields.req_id(row, "product_id")
    if rid in seen_r:
        raise FieldError("review_id", f"duplicate review id {rid!r} (first on line {seen_r[rid]})")
    if row["helpful_votes"].strip() == "":
        raise FieldError("helpful_votes", "required value is empty")
    helpful = fields.votes({"helpful_votes": _number("helpful_votes", row["helpful_votes"])}, "helpful_votes", required=True)
    values: dict[str, Any] = {"text": fields.opt_str(row, "text"), "helpful_votes": helpful}
    explicit_label = None
    if "label" in row:
        explicit_label = fields.label({"label": _number("label", row["label"])})
    values["label"] = effective_label(explicit_label, helpful)
    if "title" in row:
        values["title"] = fields.opt_str(row, "title")
    if "rating" in row:
        values["rating"] = fields.rating({"rating": _number("rating", row["rating"])})
    if "total_votes" in row:
        values["total_votes"] = fields.votes({"total_votes": _number("total_votes", row["total_votes"])}, "total_votes", required=False)
    if "time" in row:
        values["time"] = fields.time_value("time", row["time"])
    if "image_urls" in row:
        values["image_urls"] = _list("image_urls", row["image_urls"])
    images = _images(resolver, "image_files", row["image_files"]) if "image_files" in row else []
    review_extra = {k: v for k, v in row.items() if k not in REVIEW_COLUMNS and not k.startswith("product_")}
    if review_extra:
        values["extra"] = review_extra
    seen_r[rid] = lineno
    cat.reviews.append(ParsedReview(rid, pid, values, images, Where(path, lineno), images_given="image_files" in row))

    pvalues: dict[str, Any] = {}
    pimages: list = []
    for col, key in PRODUCT_COLUMNS.items():
        if col not in row:
            continue
        if key == "image_files":
            pimages = _images(resolver, col, row[col])
        elif key == "image_urls":
            pvalues[key] = _list(col, row[col])
        elif key == "split":
            s = fields.split({col: row[col]}, col)
            if s is not None:
                pvalues[key] = s
        else:
            pvalues[key] = fields.opt_str(row, col, max_chars=fields.MAX_CATEGORY_CHARS if key == "category" else None)
    pextra = {k[len("product_"):]: v for k, v in row.items() if k.startswith("product_") and k != "product_id"
              and k not in PRODUCT_COLUMNS}
    if pextra:
        pvalues["extra"] = pextra
    known = products.get(pid)
    if known is None:
        products[pid] = ParsedProduct(pid, pvalues, pimages, Where(path, lineno),
                                        images_given="product_image_files" in row)
        return
    for key, v in pvalues.items():
        if known.values.get(key) != v:
            col = next((k for k, m in PRODUCT_COLUMNS.items() if m == key), f"product_{key}")
            raise FieldError(col, f"differs from product {pid!r} on line {known.where.line}")
    if [r.sha256 for r in pimages] != [r.sha256 for r in known.images]:
        raise FieldError("product_image_files", f"differs from product {pid!r} on line {known.where.line}")
