"""Amazon Reviews 2023 (Y. Hou, J. Li, Z. He, A. Yan, X. Chen, J. McAuley; McAuley Lab, UCSD).

Reviews: ``<Category>.jsonl[.gz]``, one JSON object a line: ``user_id``, ``asin``,
``parent_asin``, ``rating``, ``title``, ``text``, ``helpful_vote``, ``timestamp``
(milliseconds since 1970), ``verified_purchase``, ``images`` (a list of dicts with
``large_image_url`` / ``medium_image_url`` / ``small_image_url``). Metadata:
``meta_<Category>.jsonl[.gz]``: ``parent_asin``, ``title``, ``description`` (a list of
paragraphs), ``categories`` (a path; else ``main_category``), ``images`` (dicts with
``hi_res`` / ``large``), ``main_category``, ``store``, ``average_rating``, ``rating_number``,
``features``, ``price``, ``details`` (kept as extras; ``bought_together`` and ``videos`` not).

Products are the ``parent_asin`` (metadata is keyed by it; the variant's ``asin`` is kept
in the review's extras when it differs). time <- timestamp // 1000 (an ISO 8601 string is
read as such); helpful_votes <- helpful_vote; image_urls <- the largest URL of each image;
extras ``reviewer_id``, ``verified``, ``asin``. The review id is derived:
``user_id:asin:timestamp``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from . import fields
from .amazon_common import (
    Family, category_path, derived_id, join_text, json_line, keep_extras, read_family, review_values,
)
from .fields import FieldError
from .rows import Catalogue, Progress

NAME = "amazon2023"
TITLE = "Amazon Reviews 2023 (McAuley Lab, UCSD)"
ID_NOTE = "review ids derived from user_id:asin:timestamp (the 2023 data has none)"

_REVIEW_READ = frozenset({"user_id", "asin", "parent_asin", "rating", "title", "text", "helpful_vote", "timestamp",
                          "images"})
_REVIEW_RENAMED = {"verified_purchase": "verified"}
META_READ = frozenset({"parent_asin", "title", "description", "categories", "images"})
META_DROPPED = frozenset({"bought_together", "videos"})
_REVIEW_IMAGE_KEYS = ("large_image_url", "medium_image_url", "small_image_url")
_META_IMAGE_KEYS = ("hi_res", "large", "thumb")


def image_urls(name: str, v: Any, keys: tuple[str, ...]) -> list[str]:
    """URLs of a list of image dicts (the first non-empty of ``keys`` each) or of strings."""
    if v is None or v == []:
        return []
    if not isinstance(v, list):
        raise FieldError(name, f"must be a list of images, got {fields.type_name(v)}")
    out = []
    for i, im in enumerate(v):
        if isinstance(im, dict):
            url = next((im[k] for k in keys if isinstance(im.get(k), str) and im[k]), None)
            if url is None:
                continue
        elif isinstance(im, str):
            url = im
        else:
            raise FieldError(name, f"entry {i} must be an image (a dict of URLs) or a URL, got {fields.type_name(im)}")
        if len(url) > fields.MAX_URL_CHARS:
            raise FieldError(name, f"entry {i} is longer than {fields.MAX_URL_CHARS} characters")
        out.append(url)
    return fields.str_list({name: out}, name)


def review(obj: dict) -> Optional[tuple[str, str, dict]]:
    user = fields.req_id(obj, "user_id")
    asin = fields.req_id(obj, "asin") if "asin" in obj else None
    pid = fields.req_id(obj, "parent_asin") if obj.get("parent_asin") is not None else asin
    if pid is None:
        raise FieldError("parent_asin", "required field is missing (and there is no asin)")
    helpful = fields.vote_count("helpful_vote", obj.get("helpful_vote")) or 0
    text = fields.opt_str(obj, "text")
    if not text.strip():
        return None
    raw_t = obj.get("timestamp")
    t = fields.time_value("timestamp", raw_t)
    if t is not None and not (isinstance(raw_t, str) and not raw_t.strip().lstrip("-").isdigit()):
        t //= 1000  # milliseconds (an ISO string is already seconds)
    extra = keep_extras(obj, _REVIEW_READ, frozenset(), _REVIEW_RENAMED)
    extra["reviewer_id"] = user
    if asin is not None and asin != pid:
        extra["asin"] = asin
    values = review_values(title=fields.opt_str(obj, "title"), text=text, rating=fields.rating(obj, "rating"),
                           helpful=helpful, total=None, time=t,
                           image_urls=image_urls("images", obj.get("images"), _REVIEW_IMAGE_KEYS), extra=extra)
    return derived_id(user, asin or pid, raw_t), pid, values


def meta(obj: dict) -> dict:
    category = category_path("categories", obj.get("categories")) or category_path(
        "main_category", obj.get("main_category"))
    return {
        "title": fields.opt_str(obj, "title"),
        "description": join_text("description", obj.get("description")),
        "category": category,
        "image_urls": image_urls("images", obj.get("images"), _META_IMAGE_KEYS),
        "extra": keep_extras(obj, META_READ, META_DROPPED, {}),
    }


FAMILY = Family(
    name=NAME, title=TITLE, parse_review_line=json_line, parse_meta_line=json_line, review=review, meta=meta,
    product_field="parent_asin", meta_id_field="parent_asin", id_note=ID_NOTE,
)


def read_catalogue(path: Path, reviews: Optional[Path], meta_file: Optional[Path], progress: Progress = None) -> Catalogue:
    return read_family(FAMILY, path, reviews, meta_file, progress)
