"""Saved views of the review table (no Qt): a name for a filter, a sort, the visible columns in
their order and, if the user asked for it, a product.

Stored per database in the user's settings (gui/settings.py, beside what
:mod:`.remembered` keeps), not in the database: a view is one moderator's way of looking at the
table, like the column widths, and a team database (PostgreSQL) would otherwise mix every
moderator's views and need a schema change. Entries that do not read back (an older build's
column, a damaged value) are dropped or fall back to the default rather than failing the start.
"""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any, Optional

from storage.records import ReviewFilter

from .columns import COLUMN_INDEX, REVIEW_COLUMNS
from .evented import EventedState, evented

MAX_NAME = 80


def saved_views_key(url: str) -> str:
    return "saved_views/" + hashlib.sha1(url.encode("utf-8")).hexdigest()[:16]


def _filter_from_json(data: Any) -> ReviewFilter:
    if not isinstance(data, dict):
        return ReviewFilter()
    defaults = ReviewFilter()
    kept = {f.name: data[f.name] for f in dataclasses.fields(ReviewFilter)
            if f.name in data and isinstance(data[f.name], type(getattr(defaults, f.name)))}
    return ReviewFilter(**kept)


@dataclass(frozen=True)
class SavedView:
    name: str
    sort: tuple[str, bool]
    review_filter: ReviewFilter
    columns: tuple[str, ...]
    """Keys of the visible columns, in the order they are shown."""
    product_id: Optional[str] = None
    """The product to open (its catalogue id); None: keep the current product, list them all."""
    product_title: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "sort": list(self.sort), "filter": dataclasses.asdict(self.review_filter),
                "columns": list(self.columns), "product_id": self.product_id, "product_title": self.product_title}

    @classmethod
    def from_json(cls, data: Any) -> Optional["SavedView"]:
        """The view, or None when it does not read back (no usable name)."""
        if not isinstance(data, dict):
            return None
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            return None
        sort = data.get("sort")
        if not (isinstance(sort, list) and len(sort) == 2 and sort[0] in COLUMN_INDEX and isinstance(sort[1], bool)
                and REVIEW_COLUMNS[COLUMN_INDEX[sort[0]]].order_by is not None):
            sort = ["rank", True]
        columns = data.get("columns")
        columns = tuple(dict.fromkeys(c for c in columns if c in COLUMN_INDEX)) if isinstance(columns, list) else ()
        if "review" not in columns:  # the review column is never hidden
            columns = ("review", *columns)
        product_id = data.get("product_id") if isinstance(data.get("product_id"), str) else None
        title = data.get("product_title") if isinstance(data.get("product_title"), str) else ""
        return cls(name.strip()[:MAX_NAME], (sort[0], sort[1]), _filter_from_json(data.get("filter")), columns,
                   product_id, title)

    @property
    def hidden_columns(self) -> frozenset[str]:
        return frozenset(c.key for c in REVIEW_COLUMNS if c.key not in self.columns)

    def summary(self) -> str:
        """One line for a tooltip: what applying the view does."""
        f = self.review_filter
        header = REVIEW_COLUMNS[COLUMN_INDEX[self.sort[0]]].header
        parts = [f"sorted by {header} {'ascending' if self.sort[1] else 'descending'}"]
        if f.text:
            parts.append(f"text \u201c{f.text}\u201d")
        parts += [label for on, label in ((f.only_flagged, "only flagged"), (f.only_disagreements, "only disagreements"),
                                          (f.has_images, "has images"), (f.only_labeled, "only labelled")) if on]
        parts.append(f"{len(self.columns)} columns")
        parts.append(f"product {self.product_title or self.product_id}" if self.product_id else "all products")
        return ", ".join(parts)


def clean_name(name: str) -> str:
    """The name as stored; ValueError for one that cannot be a name."""
    if not isinstance(name, str):
        raise ValueError("a view name must be text")
    name = " ".join(name.split())
    if not name:
        raise ValueError("a view needs a name")
    if len(name) > MAX_NAME:
        raise ValueError(f"a view name has at most {MAX_NAME} characters")
    return name


class SavedViewsState(EventedState):
    """The saved views of the open database, in the order they were first saved."""

    views = evented((), "The saved views (tuple of SavedView).", coerce=tuple)

    def names(self) -> list[str]:
        return [v.name for v in self.views]

    def get(self, name: str) -> Optional[SavedView]:
        return next((v for v in self.views if v.name.casefold() == name.casefold()), None)

    def save(self, view: SavedView) -> SavedView:
        """Add ``view``, or replace the one with the same name (case-insensitively) in its place."""
        view = dataclasses.replace(view, name=clean_name(view.name))
        old = self.get(view.name)
        if old is None:
            self.views = (*self.views, view)
        else:
            self.views = tuple(view if v is old else v for v in self.views)
        return view

    def rename(self, name: str, new_name: str) -> None:
        view = self.get(name)
        if view is None:
            raise KeyError(name)
        new_name = clean_name(new_name)
        other = self.get(new_name)
        if other is not None and other is not view:
            raise ValueError(f"there is already a view named \u201c{other.name}\u201d")
        self.views = tuple(dataclasses.replace(v, name=new_name) if v is view else v for v in self.views)

    def delete(self, name: str) -> None:
        view = self.get(name)
        if view is None:
            raise KeyError(name)
        self.views = tuple(v for v in self.views if v is not view)

    def to_json(self) -> list[dict[str, Any]]:
        return [v.to_json() for v in self.views]

    def load_json(self, data: Any) -> None:
        views: list[SavedView] = []
        for item in data if isinstance(data, list) else []:
            view = SavedView.from_json(item)
            if view is not None and all(v.name.casefold() != view.name.casefold() for v in views):
                views.append(view)
        self.views = tuple(views)
