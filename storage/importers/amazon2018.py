"""Amazon Review Data 2018 (J. Ni, J. Li, J. McAuley, UCSD; https://nijianmo.github.io/amazon/).

Reviews: ``<Category>[_5].json[.gz]``, one JSON object a line: ``reviewerID``, ``asin``,
``reviewerName``, ``vote`` (helpful votes as a string, thousands separated by commas
("1,234"); absent means 0), ``overall``, ``reviewText``, ``summary``, ``unixReviewTime``,
``verified``, ``style`` (a dict), ``image`` (a list of URLs). Metadata:
``meta_<Category>.json[.gz]``, JSON lines: ``asin``, ``title``, ``description`` (a list of
paragraphs, joined with line breaks), ``category`` (a path, joined with " > "),
``imageURLHighRes`` (else ``imageURL``), ``brand``, ``main_cat``, ``price``, ``rank``,
``feature``, ``date``, ``details`` (kept as extras; ``also_buy``, ``also_view`` and
``similar_item``, lists of other products, are not kept).

Reviews become: title <- summary, text <- reviewText, rating <- overall, helpful_votes <- vote
(no total is published), time <- unixReviewTime (unix seconds or ISO 8601), image_urls <-
image (never fetched); extras ``reviewer_id``, ``reviewer_name``, ``verified``, ``style``
and any unknown field. The review id is derived: ``reviewerID:asin:unixReviewTime``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from . import fields
from .amazon_common import (
    Family, category_path, derived_id, join_text, json_line, keep_extras, read_family, review_values,
)
from .rows import Catalogue, Progress

NAME = "amazon2018"
TITLE = "Amazon review data 2018 (Ni, Li, McAuley, UCSD)"
ID_NOTE = "review ids derived from reviewerID:asin:unixReviewTime (the 2018 data has none)"

_REVIEW_READ = frozenset({"reviewerID", "asin", "vote", "reviewText", "overall", "summary", "unixReviewTime", "image"})
_REVIEW_DROPPED = frozenset({"reviewTime"})
_REVIEW_RENAMED = {"reviewerName": "reviewer_name"}
META_READ = frozenset({"asin", "title", "description", "category", "imageURLHighRes", "imageURL"})
META_DROPPED = frozenset({"also_buy", "also_view", "similar_item", "image"})


def review(obj: dict) -> Optional[tuple[str, str, dict]]:
    reviewer = fields.req_id(obj, "reviewerID")
    asin = fields.req_id(obj, "asin")
    helpful = fields.vote_count("vote", obj.get("vote")) or 0
    text = fields.opt_str(obj, "reviewText")
    if not text.strip():
        return None
    t = fields.time_value("unixReviewTime", obj.get("unixReviewTime"))
    extra = keep_extras(obj, _REVIEW_READ, _REVIEW_DROPPED, _REVIEW_RENAMED)
    extra["reviewer_id"] = reviewer
    values = review_values(title=fields.opt_str(obj, "summary"), text=text, rating=fields.rating(obj, "overall"),
                           helpful=helpful, total=None, time=t, image_urls=fields.str_list(obj, "image"), extra=extra)
    return derived_id(reviewer, asin, obj.get("unixReviewTime")), asin, values


def meta(obj: dict) -> dict:
    urls = fields.str_list(obj, "imageURLHighRes") or fields.str_list(obj, "imageURL")
    return {
        "title": fields.opt_str(obj, "title"),
        "description": join_text("description", obj.get("description")),
        "category": category_path("category", obj.get("category")),
        "image_urls": urls,
        "extra": keep_extras(obj, META_READ, META_DROPPED, {}),
    }


FAMILY = Family(
    name=NAME, title=TITLE, parse_review_line=json_line, parse_meta_line=json_line, review=review, meta=meta,
    product_field="asin", meta_id_field="asin", id_note=ID_NOTE,
)


def read_catalogue(path: Path, reviews: Optional[Path], meta_file: Optional[Path], progress: Progress = None) -> Catalogue:
    return read_family(FAMILY, path, reviews, meta_file, progress)
