"""Any CSV or JSONL file of reviews through a column mapping (target field <- source column).

The API a mapping dialog needs, all without a database:

- :func:`preview` (the first rows, the columns, a guessed mapping: :func:`guess_mapping`),
- :func:`check_mapping` (reads the whole file with a mapping and reports what would be
  imported, which columns and rows would be dropped and why, and the problems that would
  abort the import, each with its line and field),
- :func:`read_catalogue` (phase 1 of the import itself), :func:`parse_map_spec` (the CLI's
  ``--map review_id=Id,text=Body``) and :func:`validate_mapping`.

Targets (:data:`TARGETS`): review fields as in the JSONL catalogue (``review_id``,
``product_id``, ``title``, ``text``, ``rating``, ``helpful_votes``, ``total_votes``,
``time``, ``label``, ``image_urls``), ``helpful`` (a "[helpful, total]" pair, as the 2014
data holds it), extras ``reviewer_id``, ``reviewer_name``, ``verified``, ``style``, and
product fields ``product_title``, ``product_description``, ``product_category``,
``product_image_urls``, ``product_split``. Required: ``product_id`` and ``text``. Without
``review_id`` the id is derived (``reviewer:product:time`` when ``reviewer_id`` is mapped,
else ``product:`` + a hash of the text, title and time) and the report says so. Without
votes, reviews are stored with 0 votes (unlabelled). Unmapped source columns are kept in
the review's extras under their own names unless ignored; an unnamed column (a saved row
index) is dropped. A row with more helpful votes than total votes keeps its helpful votes
(they make the label) and its total is raised to them; the notes say how many. Errors name
the file, the line and the *source* column.

Cells: numbers as digits (votes may carry thousands separators "1,234"), times as unix
seconds or ISO 8601 (:func:`.fields.time_value`), lists as a JSON array or ``;``-separated.
The file may be gzip. CSV or JSONL is told by the content (a first line starting with "{").
"""
from __future__ import annotations

import csv
import hashlib
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from ..errors import CatalogueError
from . import csv_, fields, lines
from .amazon_common import (
    DROP_DUPLICATE, DROP_NO_TEXT, derived_id, helpful_pair, join_text, next_free_id, raise_total, raised_total_note,
)
from .fields import FieldError
from .mapping import (  # noqa: F401  (part of this module's API: a dialog imports them from here)
    _EXTRA_TARGETS, _PRODUCT_TARGETS, DROP_IGNORED, DROP_UNMAPPED, DROP_UNNAMED, REQUIRED_TARGETS, TARGETS, Mapping,
    MappingError, _norm, guess_mapping, parse_map_spec, validate_mapping,
)
from .rows import Catalogue, ParsedProduct, ParsedReview, Progress, ProgressTicker, Where, effective_label

__all__ = [
    "TARGETS", "REQUIRED_TARGETS", "Mapping", "MappingError", "Preview", "MappingCheck", "parse_map_spec",
    "guess_mapping", "validate_mapping", "preview", "check_mapping", "read_catalogue", "sniff_kind",
]

@dataclass
class Preview:
    kind: str
    """"csv" or "jsonl"."""
    columns: list[str]
    rows: list[dict[str, Any]]
    guess: dict[str, str]
    """A guessed mapping (target -> column); check it with :func:`check_mapping`."""
    family: Optional[str] = None
    """A known format the file was recognised as (e.g. "finefood"), else None."""


@dataclass
class MappingCheck:
    """What importing the file with a mapping would do (nothing is written)."""

    kind: str
    rows: int = 0
    reviews: int = 0
    products: int = 0
    kept_as_extras: list[str] = field(default_factory=list)
    dropped_columns: dict[str, str] = field(default_factory=dict)
    """Source column -> why it is not kept."""
    dropped_rows: dict[str, int] = field(default_factory=dict)
    """Reason -> rows left out for it."""
    problems: list[tuple[Optional[int], Optional[str], str]] = field(default_factory=list)
    """(line, field, message) of each row that would abort the import (the first ``max_problems``)."""
    more_problems: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.reviews > 0


def sniff_kind(path: Path) -> str:
    """"jsonl" when the first non-blank line starts with "{", else "csv"."""
    head = lines.head_lines(path, 1)
    return "jsonl" if head and head[0].lstrip().startswith("{") else "csv"


class _Rows:
    """The data rows of a CSV or JSONL file as dicts, with their first line numbers."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.kind = sniff_kind(self.path)
        self.columns: list[str] = []
        self._physical = [0]
        self._csv_limit: Optional[int] = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._csv_limit is not None:
            csv.field_size_limit(self._csv_limit)
            self._csv_limit = None

    def _jsonl(self) -> Iterator[tuple[int, dict]]:
        for lineno, text in lines.iter_lines(self.path):
            if not text.strip():
                continue
            try:
                yield lineno, fields.parse_json_object(text)
            except FieldError as exc:
                raise CatalogueError(self.path, lineno, exc.field, exc.message) from None

    def open(self) -> Iterator[tuple[int, dict]]:
        """Reads the header (CSV: ``columns``); returns the row iterator."""
        if self.kind == "jsonl":
            return self._jsonl()
        self._csv_limit = csv.field_size_limit()
        csv.field_size_limit(max(self._csv_limit, lines.MAX_LINE_BYTES))
        reader = csv.reader(csv_._physical_lines(self.path, self._physical), strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise CatalogueError(self.path, None, None, "the file is empty: no header line") from None
        except csv.Error as exc:
            raise CatalogueError(self.path, self._physical[0], None, f"malformed CSV: {exc}") from None
        header = [h.strip() for h in header]
        seen: set[str] = set()
        for h in header:
            if h and h in seen:
                raise CatalogueError(self.path, 1, h, "the column appears twice in the header")
            seen.add(h)
        self.columns = header
        return self._csv(reader, header)

    def _csv(self, reader, header: list[str]) -> Iterator[tuple[int, dict]]:
        width = len(header)
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise CatalogueError(self.path, self._physical[0], None, f"malformed CSV: {exc}") from None
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            lineno = reader.line_num
            if len(cells) != width:
                raise CatalogueError(self.path, lineno, None, f"the row has {len(cells)} cells, the header {width}")
            yield lineno, dict(zip(header, cells))


def preview(path: Path | str, n: int = 20) -> Preview:
    """The first ``n`` rows of a CSV or JSONL file (gzip or plain), its columns (JSONL: the
    keys of those rows, in order of appearance) and a guessed mapping (a known format's own
    mapping when it is one: Fine Food, the Amazon 2014 CSV export)."""
    path = Path(path)
    rows: list[dict] = []
    with _Rows(path) as src:
        it = src.open()
        for _, row in it:
            rows.append(row)
            if len(rows) >= n:
                break
        columns = list(src.columns)
    if src.kind == "jsonl":
        for r in rows:
            for k in r:
                if k not in columns:
                    columns.append(k)
    family, preset = known_mapping(columns)
    guess = dict(preset.columns) if preset is not None else guess_mapping(columns, rows)
    return Preview(kind=src.kind, columns=columns, rows=rows, guess=guess, family=family)


def known_mapping(columns: list[str]) -> tuple[Optional[str], Optional[Mapping]]:
    """(format name, its mapping) when the columns are a known CSV format's, else (None, None)."""
    from . import amazon2014, finefood

    cols = set(columns)
    if finefood.matches(cols):
        return finefood.NAME, finefood.MAPPING
    if amazon2014.CSV_COLUMNS <= cols:
        return amazon2014.CSV_NAME, amazon2014.CSV_MAPPING
    return None, None


# -- parsing a row ----------------------------------------------------------------------------

def _number(name: str, v: Any) -> Any:
    if isinstance(v, str):
        return csv_._number(name, v)
    return v


def _list(name: str, v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return csv_._list(name, v)
    return fields.str_list({name: v}, name)


def _id_text(name: str, v: Any) -> Any:
    # JSON numbers as ids (e.g. "Id": 17) read as their digits
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return v


class _Parser:
    def __init__(self, mapping: Mapping, columns: list[str]):
        m = mapping.columns
        self.m = m
        self.prefix = mapping.id_prefix
        self.src = {t: m.get(t) for t in TARGETS}
        mapped = set(m.values())
        ignore = set(mapping.ignore)
        self.dropped_columns: dict[str, str] = {}
        self.extra_columns: list[str] = []
        for c in columns:
            if c in mapped:
                continue
            if c == "":
                self.dropped_columns[c] = DROP_UNNAMED
            elif c in ignore:
                self.dropped_columns[c] = mapping.ignore_reasons.get(c, DROP_IGNORED)
            elif mapping.keep_unmapped:
                self.extra_columns.append(c)
            else:
                self.dropped_columns[c] = DROP_UNMAPPED
        self.skip = set(self.dropped_columns) | mapped  # JSONL keys not kept as extras
        self.keep_unmapped = mapping.keep_unmapped

    def get(self, row: dict, target: str) -> Any:
        col = self.src[target]
        return None if col is None else row.get(col)

    def parse(self, row: dict) -> Optional[tuple[Optional[str], str, dict, dict, Any]]:
        """-> (explicit review id or None, product id, review values, product values, id parts)."""
        s = self.src
        pcol = s["product_id"]
        pid = fields.req_id({pcol: _id_text(pcol, row.get(pcol))}, pcol)
        rid = None
        if s["review_id"] is not None:
            rcol = s["review_id"]
            rid = fields.req_id({rcol: _id_text(rcol, row.get(rcol))}, rcol)
            rid = self.prefix + rid
            if len(rid) > fields.MAX_ID_CHARS:
                raise FieldError(rcol, f"is longer than {fields.MAX_ID_CHARS} characters")
        tcol = s["text"]
        text = fields.opt_str(row, tcol)
        if not text.strip():
            return None
        values: dict[str, Any] = {"text": text}
        if s["title"] is not None:
            values["title"] = fields.opt_str(row, s["title"])
        if s["rating"] is not None:
            values["rating"] = fields.rating({s["rating"]: _number(s["rating"], row.get(s["rating"]))}, s["rating"])
        if s["helpful"] is not None:
            helpful, total = helpful_pair(s["helpful"], row.get(s["helpful"]))
            values["total_votes"] = total
        else:
            helpful = fields.vote_count(s["helpful_votes"], self.get(row, "helpful_votes")) if s["helpful_votes"] else None
            helpful = helpful or 0
            if s["total_votes"] is not None:
                values["total_votes"] = fields.vote_count(s["total_votes"], row.get(s["total_votes"]))
        values["helpful_votes"] = helpful
        raw_time = None
        if s["time"] is not None:
            raw_time = row.get(s["time"])
            values["time"] = fields.time_value(s["time"], raw_time)
        explicit = None
        if s["label"] is not None:
            explicit = fields.label({s["label"]: _number(s["label"], row.get(s["label"]))}, s["label"])
        values["label"] = effective_label(explicit, helpful)
        if s["image_urls"] is not None:
            values["image_urls"] = _list(s["image_urls"], row.get(s["image_urls"]))
        extra: dict[str, Any] = {}
        for t in _EXTRA_TARGETS:
            col = s[t]
            if col is not None:
                v = row.get(col)
                if v is not None and v != "":
                    extra[t] = fields.check_extra(col, v)
        if self.keep_unmapped:
            for k, v in row.items():
                if k not in self.skip and v is not None and v != "":
                    extra[k] = fields.check_extra(k, v)
        values["extra"] = extra
        pvalues: dict[str, Any] = {}
        for t, key in _PRODUCT_TARGETS.items():
            col = s[t]
            if col is None:
                continue
            v = row.get(col)
            if key == "image_urls":
                pvalues[key] = _list(col, v)
            elif key == "split":
                sp = fields.split({col: v}, col)
                if sp is not None:
                    pvalues[key] = sp
            elif key == "description":
                pvalues[key] = join_text(col, v)
            else:
                pvalues[key] = fields.opt_str({col: v}, col,
                                              max_chars=fields.MAX_CATEGORY_CHARS if key == "category" else None)
        reviewer = extra.get("reviewer_id")
        return rid, pid, values, pvalues, (reviewer, raw_time, values.get("title", ""))


def _derive(pid: str, text: str, parts: tuple) -> str:
    reviewer, raw_time, title = parts
    if reviewer is not None:
        return derived_id(reviewer, pid, raw_time)
    h = hashlib.sha256("\x1f".join((text, str(title), "" if raw_time is None else str(raw_time))).encode("utf-8"))
    return derived_id(pid, h.hexdigest()[:16])


# -- the reader --------------------------------------------------------------------------------

def _run(path: Path, mapping: Mapping, progress: Progress, fmt: str,
         on_problem: Optional[Callable[[CatalogueError], bool]] = None) -> tuple[Catalogue, _Parser, int, str]:
    """Read ``path`` with ``mapping``. Without ``on_problem`` the first bad row raises;
    with it each bad row is passed to it and skipped (it returns False to stop reading)."""
    path = Path(path)
    cat = Catalogue(format=fmt, path=path, files=[path.name])
    ticker = ProgressTicker(progress, lines.count_lines(path))
    products: dict[str, ParsedProduct] = {}
    by_id: dict[str, int] = {}
    n_rows = 0
    raised = 0
    with _Rows(path) as src:
        it = src.open()
        columns = src.columns
        if src.kind == "jsonl":
            first = []
            for item in it:  # the keys of the first rows stand for the file's columns
                first.append(item)
                if len(first) >= 50:
                    break
            for _, r in first:
                for k in r:
                    if k not in columns:
                        columns.append(k)
            it = itertools.chain(first, it)
        validate_mapping(mapping, columns, path)
        parser = _Parser(mapping, columns)
        derived = mapping.columns.get("review_id") is None
        for lineno, row in it:
            ticker.tick()
            n_rows += 1
            try:
                parsed = parser.parse(row)
                if parsed is None:
                    cat.drop(DROP_NO_TEXT)
                    continue
                rid, pid, values, pvalues, parts = parsed
                raised_now = raise_total(values)
                if rid is None:
                    rid = _derive(pid, values["text"], parts)
                prev = by_id.get(rid)
                if prev is not None:
                    old = cat.reviews[prev]
                    if not derived:
                        raise FieldError(mapping.columns["review_id"],
                                         f"duplicate review id {rid!r} (first on line {old.where.line})")
                    if old.product_id == pid and old.values == values:
                        cat.drop(DROP_DUPLICATE)
                        continue
                    rid = next_free_id(rid, by_id)
                known = products.get(pid)
                if known is None:
                    products[pid] = ParsedProduct(pid, pvalues, [], Where(path, lineno), images_given=False)
                elif pvalues != known.values:
                    key = next(k for k in pvalues if pvalues[k] != known.values.get(k))
                    col = mapping.columns[next(t for t, k2 in _PRODUCT_TARGETS.items() if k2 == key)]
                    raise FieldError(col, f"differs from product {pid!r} on line {known.where.line}")
            except FieldError as exc:
                err = CatalogueError(path, lineno, exc.field, exc.message)
                if on_problem is None:
                    raise err from None
                if not on_problem(err):
                    break
                continue
            by_id[rid] = len(cat.reviews)
            cat.reviews.append(ParsedReview(rid, pid, values, [], Where(path, lineno),
                                            product_field=mapping.columns["product_id"], images_given=False))
            raised += raised_now
    cat.products = list(products.values())
    if derived:
        cat.notes.append("review ids derived from " + (
            "reviewer:product:time" if "reviewer_id" in mapping.columns else "the product and a hash of the text, "
            "title and time") + " (no review_id column mapped)")
    if raised:
        hcol = mapping.columns.get("helpful")
        cat.notes.append(raised_total_note(raised, *((f"{hcol}[0]", f"{hcol}[1]") if hcol else (
            mapping.columns["helpful_votes"], mapping.columns["total_votes"]))))
    if "helpful_votes" not in mapping.columns and "helpful" not in mapping.columns:
        cat.notes.append("no helpful-votes column mapped: reviews are stored with 0 votes (unlabelled)")
    cat.notes.extend(mapping.notes)
    ticker.finish()
    return cat, parser, n_rows, src.kind


def read_catalogue(path: Path | str, mapping: Mapping, progress: Progress = None, *, fmt: str = "mapped") -> Catalogue:
    """Phase 1 with a mapping: every row validated; the first bad one raises CatalogueError."""
    path = Path(path)
    cat, parser, n_rows, _ = _run(path, mapping, progress, fmt)
    if not cat.reviews:
        raise CatalogueError(path, None, None, "no reviews in the file" + (
            f" ({', '.join(f'{n} {k}' for k, n in cat.dropped.items())})" if cat.dropped else ""))
    for c, why in parser.dropped_columns.items():
        cat.notes.append(f"column {c!r} not kept: {why}")
    return cat


def check_mapping(path: Path | str, mapping: Mapping, *, max_problems: int = 20, progress: Progress = None) -> MappingCheck:
    """Read the whole file with ``mapping`` and report, without writing anything: how many
    reviews and products it gives, the columns kept as extras and those dropped (and why),
    the rows dropped by reason, and the first ``max_problems`` rows that would abort the
    import (line, field, message). A mapping that does not fit the columns raises
    CatalogueError (file, line 1) as the import would."""
    path = Path(path)
    out = MappingCheck(kind="")

    def collect(err: CatalogueError) -> bool:
        if len(out.problems) >= max_problems:
            out.more_problems = True
            return False
        out.problems.append((err.line, err.field, err.reason))
        return True

    cat, parser, n_rows, kind = _run(path, mapping, progress, "mapped", collect)
    out.kind = kind
    out.rows = n_rows
    out.reviews = len(cat.reviews)
    out.products = len(cat.products)
    out.kept_as_extras = list(parser.extra_columns)
    out.dropped_columns = dict(parser.dropped_columns)
    out.dropped_rows = dict(cat.dropped)
    out.notes = list(cat.notes)
    return out
