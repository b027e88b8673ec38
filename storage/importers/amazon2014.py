"""Amazon review data 2014 (J. McAuley, UCSD; http://jmcauley.ucsd.edu/data/amazon/).

Reviews: ``reviews_<Category>[_5].json[.gz]``, one JSON object a line: ``reviewerID``,
``asin``, ``reviewerName``, ``helpful`` ([helpful votes, total votes]), ``reviewText``,
``overall`` (stars), ``summary``, ``unixReviewTime`` (``reviewTime``, the same day as text,
is not kept). Metadata: ``meta_<Category>.json[.gz]``, one *Python literal* dict a line (not
JSON: read with ``ast``, never ``eval``; a JSON line is read too): ``asin``, ``title``, ``description``, ``imUrl``,
``categories`` (a list of category paths; the first becomes the category), ``brand``,
``price``, ``salesRank`` (kept as extras; ``related``, the lists of other asins, is not kept).

Reviews become: title <- summary, text <- reviewText, rating <- overall, helpful_votes /
total_votes <- helpful, time <- unixReviewTime (unix seconds or ISO 8601), label from the
helpful votes (MMSS.md); extras ``reviewer_id``, ``reviewer_name`` and any unknown field.
The review id is derived: ``reviewerID:asin:unixReviewTime``. The same data exported to
CSV (``helpful`` as the text "[13, 14]") is read by :data:`CSV_MAPPING` (:mod:`.mapped`) and
gets the same ids.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from . import fields
from .amazon_common import (
    Family, category_path, derived_id, helpful_pair, join_text, json_or_literal_line, keep_extras,
    read_family, review_values,
)
from .mapped import Mapping
from .rows import Catalogue, Progress

NAME = "amazon2014"
TITLE = "Amazon review data 2014 (McAuley, UCSD)"
ID_NOTE = "review ids derived from reviewerID:asin:unixReviewTime (the 2014 data has none)"

REVIEW_KEYS = frozenset({"reviewerID", "asin", "reviewerName", "helpful", "reviewText", "overall", "summary",
                         "unixReviewTime", "reviewTime"})
_REVIEW_DROPPED = frozenset({"reviewTime"})
_REVIEW_RENAMED = {"reviewerName": "reviewer_name"}
_REVIEW_READ = frozenset({"reviewerID", "asin", "helpful", "reviewText", "overall", "summary", "unixReviewTime"})
META_READ = frozenset({"asin", "title", "description", "imUrl"})
META_DROPPED = frozenset({"related"})

CSV_NAME = "amazon2014-csv"
CSV_COLUMNS = frozenset({"reviewerID", "asin", "helpful", "reviewText"})
"""A CSV header holding these is the 2014 reviews exported to CSV."""
CSV_MAPPING = Mapping(
    columns={"product_id": "asin", "reviewer_id": "reviewerID", "reviewer_name": "reviewerName", "helpful": "helpful",
             "text": "reviewText", "title": "summary", "rating": "overall", "time": "unixReviewTime"},
    ignore=("reviewTime",), ignore_reasons={"reviewTime": "the day of unixReviewTime again, as text"},
)
"""The 2014 reviews exported to CSV (pandas ``to_csv``): a :mod:`.mapped` column mapping; ids
are derived as for the JSON file (reviewerID:asin:unixReviewTime), so both give the same ids."""


def review(obj: dict) -> Optional[tuple[str, str, dict]]:
    reviewer = fields.req_id(obj, "reviewerID")
    asin = fields.req_id(obj, "asin")
    helpful, total = helpful_pair("helpful", obj.get("helpful"))
    text = fields.opt_str(obj, "reviewText")
    if not text.strip():
        return None
    t = fields.time_value("unixReviewTime", obj.get("unixReviewTime"))
    extra = {"reviewer_id": reviewer}
    if obj.keys() - _REVIEW_READ:
        extra.update(keep_extras(obj, _REVIEW_READ, _REVIEW_DROPPED, _REVIEW_RENAMED))
    values = review_values(title=fields.opt_str(obj, "summary"), text=text, rating=fields.rating(obj, "overall"),
                           helpful=helpful, total=total, time=t, image_urls=[], extra=extra)
    return derived_id(reviewer, asin, obj.get("unixReviewTime")), asin, values


def meta(obj: dict) -> dict:
    im = fields.opt_str(obj, "imUrl", max_chars=fields.MAX_URL_CHARS)
    return {
        "title": fields.opt_str(obj, "title"),
        "description": join_text("description", obj.get("description")),
        "category": category_path("categories", obj.get("categories")),
        "image_urls": [im] if im else [],
        "extra": keep_extras(obj, META_READ, META_DROPPED, {}),
    }


FAMILY = Family(
    name=NAME, title=TITLE, parse_review_line=json_or_literal_line, parse_meta_line=json_or_literal_line, review=review,
    meta=meta, product_field="asin", meta_id_field="asin", id_note=ID_NOTE,
)


def read_catalogue(path: Path, reviews: Optional[Path], meta_file: Optional[Path], progress: Progress = None) -> Catalogue:
    return read_family(FAMILY, path, reviews, meta_file, progress)


def read_csv(path: Path, progress: Progress = None) -> Catalogue:
    """The 2014 reviews exported to CSV; columns of :data:`CSV_MAPPING` the export lacks are left out."""
    from . import mapped

    present = set(mapped.preview(path, 1).columns)
    cols = {t: c for t, c in CSV_MAPPING.columns.items() if c in present or t in mapped.REQUIRED_TARGETS}
    mapping = Mapping(columns=cols, ignore=CSV_MAPPING.ignore, ignore_reasons=CSV_MAPPING.ignore_reasons)
    return mapped.read_catalogue(path, mapping, progress, fmt=CSV_NAME)
