"""What the window remembers of each database between sessions (no Qt): the review table's
sort and filters, the product list's search and category, the queue's ordering, and the
product and review that were selected.

Stored per database (the settings key is a hash of its URL) as one JSON object; whatever does
not read back as valid (an older build's keys, a column that no longer exists, a product
deleted since) falls back to the default rather than failing the start.
"""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any, Optional

from storage.records import ReviewFilter

from .columns import COLUMN_INDEX
from .disagreement_queue import DIRECTIONS, DisagreementMode, QueueFilter


def settings_key(url: str) -> str:
    return "views/" + hashlib.sha1(url.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class RememberedView:
    sort: Optional[tuple[str, bool]] = None
    review_filter: Optional[ReviewFilter] = None
    product_search: Optional[str] = None
    category: Optional[str] = None
    queue_mode: Optional[DisagreementMode] = None
    product_id: Optional[str] = None
    """The selected product's catalogue id (stable across re-imports, unlike its key)."""
    review_id: Optional[str] = None
    queue_filter: Optional[QueueFilter] = None
    """The queue's filter; its product is "the selected one" (a key is not stable)."""
    queue_hide_done: Optional[bool] = None

    def to_json(self) -> dict[str, Any]:
        return {
            "sort": list(self.sort) if self.sort else None,
            "filter": dataclasses.asdict(self.review_filter) if self.review_filter else None,
            "product_search": self.product_search, "category": self.category,
            "queue_mode": self.queue_mode.value if self.queue_mode is not None else None,
            "product_id": self.product_id, "review_id": self.review_id,
            "queue_filter": _queue_filter_json(self.queue_filter), "queue_hide_done": self.queue_hide_done,
        }

    @classmethod
    def from_json(cls, data: Any) -> "RememberedView":
        if not isinstance(data, dict):
            return cls()
        sort = data.get("sort")
        if not (isinstance(sort, list) and len(sort) == 2 and sort[0] in COLUMN_INDEX and isinstance(sort[1], bool)):
            sort = None
        flt = data.get("filter")
        review_filter = None
        if isinstance(flt, dict):
            fields = {f.name: f for f in dataclasses.fields(ReviewFilter)}
            kept = {k: v for k, v in flt.items()
                    if k in fields and isinstance(v, type(getattr(ReviewFilter(), k)))}
            review_filter = ReviewFilter(**kept)
        try:
            mode = DisagreementMode(data.get("queue_mode")) if data.get("queue_mode") is not None else None
        except ValueError:
            mode = None

        def text(key: str) -> Optional[str]:
            v = data.get(key)
            return v if isinstance(v, str) else None

        hide_done = data.get("queue_hide_done")
        return cls(tuple(sort) if sort else None, review_filter, text("product_search"), text("category"), mode,
                   text("product_id"), text("review_id"), _queue_filter_from(data.get("queue_filter")),
                   hide_done if isinstance(hide_done, bool) else None)


def _queue_filter_json(f: Optional[QueueFilter]) -> Optional[dict[str, Any]]:
    if f is None:
        return None
    return {"this_product": f.product_pk is not None, "category": f.category, "direction": f.direction,
            "held_out_only": f.held_out_only}


def _queue_filter_from(data: Any) -> Optional[QueueFilter]:
    """The stored queue filter; a field of the wrong type or value is dropped, not fatal.
    "This product" comes back as product key 0 (the window puts in the selected product's)."""
    if not isinstance(data, dict):
        return None
    category = data.get("category") if isinstance(data.get("category"), str) else None
    direction = data.get("direction") if data.get("direction") in DIRECTIONS else None
    held_out = data.get("held_out_only")
    return QueueFilter(product_pk=0 if data.get("this_product") is True else None, category=category,
                       direction=direction, held_out_only=held_out if isinstance(held_out, bool) else True)
