"""What a column mapping is: its targets, :class:`Mapping`, the CLI's ``--map`` text
(:func:`parse_map_spec`), its check against a file's columns (:func:`validate_mapping`) and
a guess from the column names and first rows (:func:`guess_mapping`). Reading a file through
a mapping is :mod:`.mapped`."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from ..errors import CatalogueError, StorageError

TARGETS: dict[str, str] = {
    "review_id": "review id, unique (default: derived)",
    "product_id": "product id (required)",
    "text": "review text (required; rows without text are dropped)",
    "title": "review title / summary",
    "rating": "stars, 1-5",
    "helpful_votes": "helpful votes (default 0: unlabelled)",
    "total_votes": "all votes",
    "helpful": "\"[helpful, total]\" pair (Amazon 2014)",
    "time": "unix seconds or ISO 8601 date / date-time",
    "label": "explicit label 0-4 (default: from the votes)",
    "image_urls": "review image URLs (JSON list or ;-separated)",
    "reviewer_id": "reviewer id (kept as an extra)",
    "reviewer_name": "reviewer name (kept as an extra)",
    "verified": "verified purchase flag (kept as an extra)",
    "style": "product variant / style (kept as an extra)",
    "product_title": "product title",
    "product_description": "product description",
    "product_category": "product category",
    "product_image_urls": "product image URLs",
    "product_split": "train / dev / test",
}
REQUIRED_TARGETS = ("product_id", "text")
_EXTRA_TARGETS = ("reviewer_id", "reviewer_name", "verified", "style")
_PRODUCT_TARGETS = {"product_title": "title", "product_description": "description", "product_category": "category",
                    "product_image_urls": "image_urls", "product_split": "split"}

DROP_UNNAMED = "unnamed column (a saved row index?)"
DROP_IGNORED = "ignored by the mapping"
DROP_UNMAPPED = "not mapped (unmapped columns are not kept)"


class MappingError(StorageError):
    """A mapping that cannot be used (unknown target, missing column, bad ``--map`` text)."""


@dataclass
class Mapping:
    """Target field -> source column, plus what happens to the other columns."""

    columns: dict[str, str]
    id_prefix: str = ""
    """Put before a mapped review id (Fine Food: "ff-"), so ids of different sources do not meet."""
    keep_unmapped: bool = True
    """Unmapped columns go to the review's extras under their own names."""
    ignore: tuple[str, ...] = ()
    """Source columns never kept (with the reason ``DROP_IGNORED``, or ``ignore_reasons``)."""
    ignore_reasons: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()



# -- the mapping itself ----------------------------------------------------------------------

def parse_map_spec(specs: Iterable[str] | str) -> dict[str, str]:
    """``"review_id=Id,text=Body"`` (or several such strings) -> {target: column}.

    Raises MappingError naming unknown targets and malformed pairs. A column name holding a
    comma cannot be given this way (give the pair as its own ``--map`` argument instead:
    a spec without ``,`` separators is one pair)."""
    if isinstance(specs, str):
        specs = [specs]
    out: dict[str, str] = {}
    bad, unknown = [], []
    for spec in specs:
        parts = [spec] if spec.count("=") == 1 else spec.split(",")
        for part in parts:
            if not part.strip():
                continue
            target, sep, source = part.partition("=")
            target, source = target.strip(), source.strip()
            if not sep or not target or not source:
                bad.append(part)
                continue
            if target not in TARGETS:
                unknown.append(target)
                continue
            if target in out and out[target] != source:
                raise MappingError(f"--map: {target!r} is mapped twice ({out[target]!r} and {source!r})")
            out[target] = source
    problems = []
    if unknown:
        problems.append(f"unknown target field(s) {', '.join(repr(u) for u in unknown)} "
                        f"(known: {', '.join(TARGETS)})")
    if bad:
        problems.append(f"malformed pair(s) {', '.join(repr(b) for b in bad)} (expected TARGET=COLUMN)")
    if problems:
        raise MappingError("--map: " + "; ".join(problems))
    return out


def validate_mapping(mapping: Mapping, columns: list[str], path: Path) -> None:
    """CatalogueError (file, line 1) naming unknown targets, source columns not in the file
    and missing required targets, all at once."""
    problems = []
    unknown = [t for t in mapping.columns if t not in TARGETS]
    if unknown:
        problems.append(f"unknown target field(s) {', '.join(map(repr, unknown))} (known: {', '.join(TARGETS)})")
    have = set(columns)
    missing = [f"{s!r} (for {t})" for t, s in mapping.columns.items() if s not in have]
    if missing:
        shown = ", ".join(repr(c) for c in columns[:40]) + (", ..." if len(columns) > 40 else "")
        problems.append(f"source column(s) not in the file: {', '.join(missing)} (its columns: {shown})")
    need = [t for t in REQUIRED_TARGETS if t not in mapping.columns]
    if need:
        problems.append(f"required target(s) not mapped: {', '.join(need)}")
    if "helpful" in mapping.columns and ("helpful_votes" in mapping.columns or "total_votes" in mapping.columns):
        problems.append("map either 'helpful' (a [helpful, total] pair) or 'helpful_votes' / 'total_votes', not both")
    if problems:
        raise CatalogueError(path, 1, None, "column mapping: " + "; ".join(problems))


_SYNONYMS: dict[str, tuple[str, ...]] = {
    "review_id": ("reviewid", "id", "reviewuuid", "commentid"),
    "product_id": ("productid", "parentasin", "asin", "itemid", "product", "sku", "productcode"),
    "text": ("text", "reviewtext", "reviewbody", "body", "content", "review", "comment", "comments", "reviewcontent"),
    "title": ("title", "summary", "reviewtitle", "reviewheadline", "headline", "subject", "reviewsummary"),
    "rating": ("rating", "score", "overall", "stars", "starrating", "reviewrating", "reviewscore"),
    "helpful": ("helpful",),
    "helpful_votes": ("helpfulvotes", "helpfulvote", "helpfulnessnumerator", "vote", "votes", "upvotes",
                      "helpfulcount", "thumbsup", "helpfulness", "helpful"),
    "total_votes": ("totalvotes", "helpfulnessdenominator", "totalvote", "votecount"),
    "time": ("time", "unixreviewtime", "timestamp", "date", "reviewdate", "createdat", "datetime", "reviewedat",
             "submissiontime"),
    "label": ("label",),
    "image_urls": ("imageurls", "images", "image", "imageurl", "reviewimages"),
    "reviewer_id": ("reviewerid", "userid", "customerid", "authorid", "user", "author"),
    "reviewer_name": ("reviewername", "profilename", "username", "authorname", "name"),
    "verified": ("verified", "verifiedpurchase"),
    "style": ("style", "variant"),
    "product_title": ("producttitle", "productname", "itemname"),
    "product_description": ("productdescription", "itemdescription"),
    "product_category": ("productcategory", "category", "maincategory", "categories"),
    "product_image_urls": ("productimageurls", "productimages"),
    "product_split": ("productsplit", "split"),
}


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def guess_mapping(columns: list[str], rows: Optional[list[dict]] = None) -> dict[str, str]:
    """A first mapping from the column names (case, spaces and punctuation ignored), each
    column used once; ``helpful`` is taken as a [helpful, total] pair when the sample rows
    hold one there. A guess: show it for confirmation and run :func:`check_mapping`."""
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(_norm(c), c)
    used: set[str] = set()
    out: dict[str, str] = {}
    sample = rows or []
    for target, names in _SYNONYMS.items():
        for n in names:
            col = by_norm.get(n)
            if col is None or col in used:
                continue
            if target == "helpful":
                v = next((r.get(col) for r in sample if r.get(col) not in (None, "")), None)
                if not (isinstance(v, list) or (isinstance(v, str) and v.strip().startswith("["))):
                    continue  # a plain count: helpful_votes takes it
            out[target] = col
            used.add(col)
            break
    return out


# -- reading rows ----------------------------------------------------------------------------
