"""The parsed catalogue: what phase 1 of an import produces (products and reviews with where
each came from) and phase 2 writes, the import's report, progress ticking, and the default
split and label of a row."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from ..errors import CatalogueError
from ..records import label_from_votes
from .images import ImageRef

__all__ = [
    "Progress", "SPLIT_PERCENT", "Where", "ParsedProduct", "ParsedReview", "Catalogue", "ImportReport",
    "ProgressTicker", "hash_split", "effective_label",
]

Progress = Optional[Callable[[int, int], Any]]

SPLIT_PERCENT = (64, 16, 20)
"""train/dev/test shares of the hash split (MRHP splits by product in these proportions)."""

_PROGRESS_EVERY = 250


@dataclass(slots=True)  # one per row of the input: no __dict__ each
class Where:
    """Where a row came from, for errors raised after parsing."""

    path: Path
    line: Optional[int]
    row: Optional[str] = None  # a row label for files that are not line-based (MRHP)

    def error(self, field: str | None, message: str) -> CatalogueError:
        if self.row is not None:
            message = f"row {self.row}: {message}"
        return CatalogueError(self.path, self.line, field, message)


@dataclass(slots=True)  # one per row of the input: no __dict__ each
class ParsedProduct:
    product_id: str
    values: dict[str, Any]
    """Columns to set (without ``product_id``). Keys absent here are left as they are on update."""
    images: list[ImageRef]
    where: Where
    images_given: bool = True
    """False when the input says nothing about this product's images: its links stay."""


@dataclass(slots=True)  # one per row of the input: no __dict__ each
class ParsedReview:
    review_id: str
    product_id: str
    values: dict[str, Any]
    images: list[ImageRef]
    where: Where
    product_field: str = "product_id"
    images_given: bool = True


@dataclass
class Catalogue:
    format: str
    path: Path
    files: list[str] = field(default_factory=list)
    products: list[ParsedProduct] = field(default_factory=list)
    reviews: list[ParsedReview] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    """Rows left out on purpose, by reason (e.g. "exact duplicate review": 3)."""
    notes: list[str] = field(default_factory=list)
    """What the user should know about how the input was read (e.g. how review ids were derived)."""

    def drop(self, reason: str, n: int = 1) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + n


@dataclass
class ImportReport:
    """What one import did."""

    format: str
    path: str
    products_added: int = 0
    products_updated: int = 0
    reviews_added: int = 0
    reviews_updated: int = 0
    images: int = 0
    """Distinct image files referenced by the catalogue."""
    images_added: int = 0
    """Images new to the database (the others were already stored, same sha256)."""
    scores_dropped: int = 0
    """Predictions deleted because the import changed what they were computed from (a review's
    text or metadata, its product's text or images, or a new review beside it)."""
    seconds: float = 0.0
    dropped: dict[str, int] = field(default_factory=dict)
    """Rows of the input left out on purpose, by reason."""
    notes: list[str] = field(default_factory=list)
    """How the input was read, where the user should know (derived ids, missing metadata)."""


class ProgressTicker:
    """Calls ``progress(done, total)`` every few rows and at the end (a raising callback aborts)."""

    def __init__(self, progress: Progress, total: int):
        self.progress = progress
        self.total = max(int(total), 0)
        self.done = 0
        if progress is not None:
            progress(0, self.total)

    def tick(self, n: int = 1) -> None:
        self.done += n
        if self.progress is not None and self.done % _PROGRESS_EVERY == 0:
            self.progress(min(self.done, self.total), self.total)

    def finish(self) -> None:
        if self.progress is not None:
            self.total = max(self.total, self.done)
            self.progress(self.total, self.total)


def hash_split(product_id: str) -> str:
    """Stable split from sha256 of the product id: 64/16/20 % train/dev/test."""
    h = int.from_bytes(hashlib.sha256(product_id.encode("utf-8")).digest()[:8], "big") % 100
    if h < SPLIT_PERCENT[0]:
        return "train"
    if h < SPLIT_PERCENT[0] + SPLIT_PERCENT[1]:
        return "dev"
    return "test"


def effective_label(explicit: Optional[int], helpful_votes: int) -> Optional[int]:
    return explicit if explicit is not None else label_from_votes(helpful_votes)
