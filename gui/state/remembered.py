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
from .disagreement_queue import DisagreementMode


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

    def to_json(self) -> dict[str, Any]:
        return {
            "sort": list(self.sort) if self.sort else None,
            "filter": dataclasses.asdict(self.review_filter) if self.review_filter else None,
            "product_search": self.product_search, "category": self.category,
            "queue_mode": self.queue_mode.value if self.queue_mode is not None else None,
            "product_id": self.product_id, "review_id": self.review_id,
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

        return cls(tuple(sort) if sort else None, review_filter, text("product_search"), text("category"), mode,
                   text("product_id"), text("review_id"))
