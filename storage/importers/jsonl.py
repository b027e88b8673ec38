"""The ReviewScope JSONL catalogue: a folder with ``products.jsonl`` and ``reviews.jsonl``.

``products.jsonl``: product_id (required), title, description, category, image_files (paths
relative to the folder), image_urls, split (train/dev/test; default from a hash of the id).
``reviews.jsonl``: review_id, product_id, text, helpful_votes (required), title, rating
(1-5), total_votes, time (unix seconds or an ISO 8601 date / date-time), image_files, image_urls, label (0-4; default from
the votes, MMSS.md). Any other field is kept in ``extra``. Either file may be missing (a
folder of products only, or reviews of products imported before), not both.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import CatalogueError
from . import fields, lines
from .fields import FieldError
from .images import ImageProblem, ImageResolver
from .rows import Catalogue, ParsedProduct, ParsedReview, Progress, ProgressTicker, Where, effective_label

PRODUCTS_FILE = "products.jsonl"
REVIEWS_FILE = "reviews.jsonl"

PRODUCT_FIELDS = frozenset({"product_id", "title", "description", "category", "image_files", "image_urls", "split"})
REVIEW_FIELDS = frozenset({
    "review_id", "product_id", "title", "text", "rating", "helpful_votes", "total_votes", "time",
    "image_files", "image_urls", "label",
})


def is_catalogue_folder(folder: Path) -> bool:
    return (folder / PRODUCTS_FILE).is_file() or (folder / REVIEWS_FILE).is_file()


def image_refs(resolver: ImageResolver, obj: dict) -> list:
    files = fields.str_list(obj, "image_files")
    out = []
    for i, rel in enumerate(files):
        try:
            out.append(resolver.ref(rel))
        except ImageProblem as exc:
            raise FieldError("image_files", f"entry {i}: {exc}") from None
    return out


def extras(obj: dict, known: frozenset) -> dict:
    if obj.keys() <= known:  # the common case, checked in C
        return {}
    return {k: fields.check_extra(k, v) for k, v in obj.items() if k not in known}


def parse_product(obj: dict, resolver: ImageResolver) -> tuple[str, dict, list]:
    pid = fields.req_id(obj, "product_id")
    values = {
        "title": fields.opt_str(obj, "title"),
        "description": fields.opt_str(obj, "description"),
        "category": fields.opt_str(obj, "category", max_chars=fields.MAX_CATEGORY_CHARS),
        "image_urls": fields.str_list(obj, "image_urls"),
        "extra": extras(obj, PRODUCT_FIELDS),
    }
    s = fields.split(obj)
    if s is not None:
        values["split"] = s
    return pid, values, image_refs(resolver, obj)


def parse_review(obj: dict, resolver: ImageResolver) -> tuple[str, str, dict, list]:
    rid = fields.req_id(obj, "review_id")
    pid = fields.req_id(obj, "product_id")
    helpful = fields.votes(obj, "helpful_votes", required=True)
    values = {
        "title": fields.opt_str(obj, "title"),
        "text": fields.opt_str(obj, "text", required=True),
        "rating": fields.rating(obj),
        "helpful_votes": helpful,
        "total_votes": fields.votes(obj, "total_votes", required=False),
        "time": fields.unix_time(obj),
        "label": effective_label(fields.label(obj), helpful),
        "image_urls": fields.str_list(obj, "image_urls"),
        "extra": extras(obj, REVIEW_FIELDS),
    }
    return rid, pid, values, image_refs(resolver, obj)


def _rows(path: Path, ticker: ProgressTicker):
    """``(line number, parsed object)`` of every non-blank line; errors carry file + line."""
    for lineno, text in lines.iter_lines(path):
        ticker.tick()
        if not text.strip():
            continue
        try:
            yield lineno, fields.parse_json_object(text)
        except FieldError as exc:
            raise CatalogueError(path, lineno, exc.field, exc.message) from None


def read_catalogue(folder: Path, progress: Progress = None) -> Catalogue:
    """Phase 1: read and validate the whole folder (no database access)."""
    folder = Path(folder)
    pfile, rfile = folder / PRODUCTS_FILE, folder / REVIEWS_FILE
    have_p, have_r = pfile.is_file(), rfile.is_file()
    if not have_p and not have_r:
        raise CatalogueError(folder, None, None, f"no {PRODUCTS_FILE} or {REVIEWS_FILE} in this folder")
    cat = Catalogue(format="jsonl", path=folder)
    ticker = ProgressTicker(progress, (lines.count_lines(pfile) if have_p else 0) + (lines.count_lines(rfile) if have_r else 0))
    resolver = ImageResolver(folder)

    if have_p:
        cat.files.append(PRODUCTS_FILE)
        seen: dict[str, int] = {}
        for lineno, obj in _rows(pfile, ticker):
            try:
                pid, values, images = parse_product(obj, resolver)
            except FieldError as exc:
                raise CatalogueError(pfile, lineno, exc.field, exc.message) from None
            if pid in seen:
                raise CatalogueError(pfile, lineno, "product_id", f"duplicate product id {pid!r} (first on line {seen[pid]})")
            seen[pid] = lineno
            cat.products.append(ParsedProduct(pid, values, images, Where(pfile, lineno)))
        if not cat.products:
            raise CatalogueError(pfile, None, None, "the file is empty: no products")

    if have_r:
        cat.files.append(REVIEWS_FILE)
        seen_r: dict[str, int] = {}
        for lineno, obj in _rows(rfile, ticker):
            try:
                rid, pid, values, images = parse_review(obj, resolver)
            except FieldError as exc:
                raise CatalogueError(rfile, lineno, exc.field, exc.message) from None
            if rid in seen_r:
                raise CatalogueError(rfile, lineno, "review_id", f"duplicate review id {rid!r} (first on line {seen_r[rid]})")
            seen_r[rid] = lineno
            cat.reviews.append(ParsedReview(rid, pid, values, images, Where(rfile, lineno)))
        if not cat.reviews:
            raise CatalogueError(rfile, None, None, "the file is empty: no reviews")
    ticker.finish()
    return cat
