"""MRHP folders: ``{cat}.prd|rvw|rel.{train,dev,test}`` written by pandas ``to_json``
(default orient "columns": ``{"column": {"row index": value, ...}, ...}``), see MMSS.md.

- prd: product_id, name, description, img_url (Amazon also brand_name, keyword -> extra).
- rvw: review_id, content, img_url (Amazon also title, time).
- rel: product_id, review_id, upvotes.

A product's split is the split of its file and its category the ``{cat}`` part of the name.
Labels follow MMSS.md: in a rel file whose largest ``upvotes`` is above 4 the values are
vote counts and map through the label rule (0 -> unlabelled); otherwise they are already
labels 0-4. ``helpful_votes`` keeps the file's value either way.

Images: an optional ``images/`` folder; each ``img_url`` entry is looked up there by the
file name at the end of its URL path (validated like any catalogue image); entries without
a local file stay URLs. ``features/`` (precomputed RoI tensors) is not read here: storage
has no torch; the engine reads feature files with tensors-only loading.

These files are one JSON document each, not lines: errors name the file, the field and
the row index (and the line only for JSON syntax errors).
"""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

from ..errors import CatalogueError
from ..records import label_from_votes
from . import fields, lines
from .fields import FieldError
from .images import ImageProblem, ImageResolver
from .rows import Catalogue, ParsedProduct, ParsedReview, Progress, ProgressTicker, Where

FILE_RE = re.compile(r"^(?P<cat>.+)\.(?P<kind>prd|rvw|rel)\.(?P<split>train|dev|test)$")
KINDS = ("prd", "rvw", "rel")
REQUIRED = {"prd": ("product_id",), "rvw": ("review_id", "content"), "rel": ("product_id", "review_id", "upvotes")}
IMAGES_DIR = "images"


def mrhp_files(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in Path(folder).iterdir() if FILE_RE.match(p.name) and p.is_file())
    except OSError:
        return []


def is_mrhp_folder(folder: Path) -> bool:
    return bool(mrhp_files(folder))


def load_columns(path: Path) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Read one orient-"columns" JSON file -> (row indexes in order, columns)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CatalogueError(path, None, None, f"cannot read the file: {exc.strerror or exc}") from None
    if size > lines.MAX_JSON_FILE_BYTES:
        raise CatalogueError(path, None, None, f"file is {size:,} bytes, more than the {lines.MAX_JSON_FILE_BYTES:,} allowed")
    if size == 0:
        raise CatalogueError(path, None, None, "the file is empty")
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CatalogueError(path, 1, None, "the file is UTF-16 encoded; ReviewScope reads UTF-8 only (save it as UTF-8)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise CatalogueError(
            path, line, None,
            f"not valid UTF-8 (byte 0x{raw[exc.start:exc.start + 1].hex()}; latin-1 or cp1252?); "
            "ReviewScope reads UTF-8 only",
        ) from None
    del raw
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogueError(path, exc.lineno, None, f"invalid JSON at column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise CatalogueError(path, None, None, "invalid JSON: nested too deeply") from None
    if not isinstance(obj, dict):
        raise CatalogueError(path, None, None, f"expected a JSON object of columns (pandas orient 'columns'), got {fields.type_name(obj)}")
    index: dict[str, None] = {}
    for col, values in obj.items():
        if not isinstance(values, dict):
            raise CatalogueError(
                path, None, col, f"expected an object of row index -> value (pandas orient 'columns'), got {fields.type_name(values)}"
            )
        for k in values:
            index.setdefault(k, None)
    keys = list(index)
    if all(k.isdigit() for k in keys):
        keys.sort(key=int)
    return keys, obj


def _id(path: Path, row: str, cols: dict, name: str) -> str:
    v = cols[name].get(row)
    if isinstance(v, int) and not isinstance(v, bool):
        v = str(v)  # pandas writes integer ids as numbers
    try:
        return fields.req_id({name: v}, name)
    except FieldError as exc:
        raise Where(path, None, row).error(name, exc.message) from None


def _text(v: Any, name: str) -> str:
    if v is None:
        return ""  # pandas writes NaN as null
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        v = "\n".join(v)
    return fields.opt_str({name: v}, name)


def _urls(v: Any, name: str) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return fields.str_list({name: [v]}, name) if v.strip() else []
    return fields.str_list({name: v}, name)


def _time(v: Any, name: str) -> tuple[int | None, Any]:
    """(unix seconds or None, raw value to keep in extra when it is not a number)."""
    if v is None:
        return None, None
    if isinstance(v, str):
        s = v.strip()
        if re.fullmatch(r"-?\d+", s):
            return fields.unix_time({name: int(s)}, name), None
        try:
            d = dt.datetime.fromisoformat(s)
        except ValueError:
            return None, fields.check_extra(name, v)
        if d.tzinfo is None:
            d = d.replace(tzinfo=dt.timezone.utc)
        return int(d.timestamp()), None
    return fields.unix_time({name: v}, name), None


class _Images:
    def __init__(self, folder: Path):
        self.dir = folder / IMAGES_DIR
        self.resolver = ImageResolver(self.dir) if self.dir.is_dir() else None

    def refs(self, urls: list[str], name: str) -> list:
        if self.resolver is None:
            return []
        out = []
        for i, url in enumerate(urls):
            fname = PurePosixPath(urlparse(url).path.replace("\\", "/")).name
            if not fname or fname in (".", ".."):
                continue
            if not (self.dir / fname).exists() and not (self.dir / fname).is_symlink():
                continue
            try:
                out.append(self.resolver.ref(fname))
            except ImageProblem as exc:
                raise FieldError(name, f"entry {i}: {exc}") from None
        return out


def read_catalogue(folder: Path, progress: Progress = None) -> Catalogue:
    """Phase 1: read and validate every MRHP file of the folder (no database access)."""
    folder = Path(folder)
    files = mrhp_files(folder)
    if not files:
        raise CatalogueError(folder, None, None, "no MRHP files ({cat}.prd|rvw|rel.{train,dev,test}) in this folder")
    groups: dict[tuple[str, str], dict[str, Path]] = {}
    for p in files:
        m = FILE_RE.match(p.name)
        groups.setdefault((m["cat"], m["split"]), {})[m["kind"]] = p
    for (cat_name, split), kinds in sorted(groups.items()):
        for kind in KINDS:
            if kind not in kinds:
                raise CatalogueError(folder / f"{cat_name}.{kind}.{split}", None, None,
                                     f"missing: {', '.join(sorted(kinds))} files of {cat_name}/{split} need their {kind} file")

    cat = Catalogue(format="mrhp", path=folder, files=[p.name for p in files])
    images = _Images(folder)
    loaded = {}
    total = 0
    for key, kinds in sorted(groups.items()):
        for kind in KINDS:
            path = kinds[kind]
            rows, cols = load_columns(path)
            for col in REQUIRED[kind]:
                if col not in cols:
                    raise CatalogueError(path, None, col, "required column is missing")
            loaded[path] = (rows, cols)
            total += len(rows)
    ticker = ProgressTicker(progress, total)

    products: dict[str, ParsedProduct] = {}
    reviews: dict[str, ParsedReview] = {}
    for (cat_name, split), kinds in sorted(groups.items()):
        # -- products
        path = kinds["prd"]
        rows, cols = loaded[path]
        for row in rows:
            ticker.tick()
            pid = _id(path, row, cols, "product_id")
            where = Where(path, None, row)
            if pid in products:
                first = products[pid].where
                raise where.error("product_id", f"duplicate product id {pid!r} (first in {first.path.name}, row {first.row})")
            try:
                urls = _urls(cols.get("img_url", {}).get(row), "img_url")
                values = {
                    "title": _text(cols.get("name", {}).get(row), "name"),
                    "description": _text(cols.get("description", {}).get(row), "description"),
                    "category": cat_name[: fields.MAX_CATEGORY_CHARS],
                    "split": split,
                    "image_urls": urls,
                    "extra": {k: fields.check_extra(k, v[row]) for k, v in cols.items()
                              if k not in ("product_id", "name", "description", "img_url") and v.get(row) is not None},
                }
                refs = images.refs(urls, "img_url")
            except FieldError as exc:
                raise where.error(exc.field, exc.message) from None
            products[pid] = ParsedProduct(pid, values, refs, where)

        # -- reviews: content from rvw, product and label from rel
        rpath = kinds["rvw"]
        rrows, rcols = loaded[rpath]
        split_reviews: dict[str, tuple[dict, list, Where]] = {}
        for row in rrows:
            ticker.tick()
            rid = _id(rpath, row, rcols, "review_id")
            where = Where(rpath, None, row)
            if rid in reviews or rid in split_reviews:
                raise where.error("review_id", f"duplicate review id {rid!r}")
            try:
                urls = _urls(rcols.get("img_url", {}).get(row), "img_url")
                t, raw_time = _time(rcols.get("time", {}).get(row), "time")
                extra = {k: fields.check_extra(k, v[row]) for k, v in rcols.items()
                         if k not in ("review_id", "content", "title", "time", "img_url", "product_id")
                         and v.get(row) is not None}
                if raw_time is not None:
                    extra["time"] = raw_time
                values = {
                    "title": _text(rcols.get("title", {}).get(row), "title"),
                    "text": _text(rcols["content"].get(row), "content"),
                    "rating": None,
                    "time": t,
                    "image_urls": urls,
                    "extra": extra,
                }
                refs = images.refs(urls, "img_url")
            except FieldError as exc:
                raise where.error(exc.field, exc.message) from None
            split_reviews[rid] = (values, refs, where)

        lpath = kinds["rel"]
        lrows, lcols = loaded[lpath]
        rel: list[tuple[str, str, int, Where]] = []
        for row in lrows:
            ticker.tick()
            where = Where(lpath, None, row)
            rid = _id(lpath, row, lcols, "review_id")
            pid = _id(lpath, row, lcols, "product_id")
            try:
                up = fields.votes({"upvotes": lcols["upvotes"].get(row)}, "upvotes", required=True)
            except FieldError as exc:
                raise where.error(exc.field, exc.message) from None
            rel.append((rid, pid, up, where))
        as_votes = any(up > 4 for _, _, up, _ in rel)
        linked: set[str] = set()
        for rid, pid, up, where in rel:
            if rid in linked:
                raise where.error("review_id", f"review {rid!r} appears twice in the rel file")
            if rid not in split_reviews:
                raise where.error("review_id", f"review {rid!r} is not in {rpath.name}")
            linked.add(rid)
            values, refs, rwhere = split_reviews[rid]
            values["helpful_votes"] = up
            values["label"] = label_from_votes(up) if as_votes else up
            reviews[rid] = ParsedReview(rid, pid, values, refs, where)
        for rid, (_, _, rwhere) in split_reviews.items():
            if rid not in linked:
                raise rwhere.error("review_id", f"review {rid!r} has no row in {lpath.name} (no product, no label)")

    cat.products = list(products.values())
    cat.reviews = list(reviews.values())
    ticker.finish()
    return cat
