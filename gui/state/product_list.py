"""Search and category filter of the product list (no Qt)."""
from __future__ import annotations

from storage.records import ProductSummary

from .evented import EventedState, evented

ALL_CATEGORIES = ""


class ProductListState(EventedState):
    """What the product list filters on."""

    search = evented("", "Case-insensitive text matched against product title and id.", coerce=lambda v: str(v))
    category = evented(ALL_CATEGORIES, "Category shown, '' for all.", coerce=lambda v: str(v or ""))

    def accepts(self, product: ProductSummary) -> bool:
        if self.category and product.category != self.category:
            return False
        needle = self.search.strip().casefold()
        if not needle:
            return True
        return needle in product.title.casefold() or needle in product.product_id.casefold()
