"""Sort, filter and column layout of the review table (no Qt)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from storage.records import ReviewFilter

from .columns import COLUMN_INDEX, REVIEW_COLUMNS, ReviewColumn
from .evented import EventedState, evented


@dataclass(frozen=True)
class ReviewQuery:
    """Everything that decides which rows the table shows, in which order."""

    product_pk: Optional[int]
    model_version_id: Optional[int]
    order_by: str
    descending: bool
    flt: ReviewFilter


def _sort(value: tuple[str, bool]) -> tuple[str, bool]:
    key, ascending = value
    if key not in COLUMN_INDEX:
        raise ValueError(f"no review column {key!r}")
    if REVIEW_COLUMNS[COLUMN_INDEX[key]].order_by is None:
        raise ValueError(f"column {key!r} cannot be sorted")
    return key, bool(ascending)


class ReviewTableState(EventedState):
    """The review table's view settings.

    Attributes
    ----------
    sort : tuple of (str, bool)
        Key of the column sorted on (see :mod:`gui.state.columns`) and whether the
        direction as the user sees it is ascending (rank ascending = best first).
    filter : ReviewFilter
        Text search and the only-flagged / only-disagreements / has-images switches.
    hidden_columns : frozenset of str
        Keys of hidden columns.
    """

    sort = evented(("rank", True), "(column key, ascending) the table is sorted on.", coerce=_sort)
    filter = evented(ReviewFilter(), "Current ReviewFilter.")
    hidden_columns = evented(
        frozenset(c.key for c in REVIEW_COLUMNS if not c.visible), "Keys of hidden columns.", coerce=frozenset
    )

    @property
    def sort_column(self) -> str:
        return self.sort[0]

    @property
    def ascending(self) -> bool:
        return self.sort[1]

    def query(self, product_pk: Optional[int], model_version_id: Optional[int]) -> ReviewQuery:
        col: ReviewColumn = REVIEW_COLUMNS[COLUMN_INDEX[self.sort_column]]
        descending = self.ascending if col.invert else not self.ascending
        return ReviewQuery(product_pk, model_version_id, col.order_by, descending, self.filter)

    def update_filter(self, **changes) -> None:
        self.filter = replace(self.filter, **changes)

    def set_column_hidden(self, key: str, hidden: bool) -> None:
        if key not in COLUMN_INDEX:
            raise KeyError(key)
        keys = set(self.hidden_columns)
        keys.add(key) if hidden else keys.discard(key)
        self.hidden_columns = frozenset(keys)
