"""The columns of the review table: what each shows and how it sorts (no Qt)."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Optional

from storage.models import SUBSCORE_COLUMNS
from storage.records import SUBSCORE_NAMES


class ColumnKind(Enum):
    TEXT = "text"
    NUMBER = "number"
    SUBSCORE = "subscore"  # drawn as an in-cell bar
    FLAG = "flag"
    REASON = "reason"  # a part of the score's explanation, in words


@dataclass(frozen=True)
class ReviewColumn:
    """One column of the review table.

    Parameters
    ----------
    key : str
        Stable identifier, used for the remembered layout.
    header : str
        Header text.
    kind : ColumnKind
        How the cell is drawn.
    order_by : str or None
        ``storage.repository.page_reviews`` ordering key, None when not sortable.
    invert : bool
        Ascending in the view means descending in the query (model rank: rank 1 = top score).
    visible : bool
        Shown by default.
    tooltip : str
        Header tooltip.
    """

    key: str
    header: str
    kind: ColumnKind
    order_by: Optional[str]
    invert: bool = False
    visible: bool = True
    tooltip: str = ""


SUBSCORE_TOOLTIPS = (
    "product text / review text",
    "product image / review image",
    "product text / review image",
    "product image / review text",
    "review text / review image",
)

REVIEW_COLUMNS: tuple[ReviewColumn, ...] = (
    ReviewColumn("rank", "Rank", ColumnKind.NUMBER, "score", invert=True,
                 tooltip="Rank of the review among its product's reviews under the active model"),
    ReviewColumn("review", "Review", ColumnKind.TEXT, "review_id", tooltip="Review title (or the start of its text)"),
    ReviewColumn("score", "Score", ColumnKind.NUMBER, "score", tooltip="MM-SS helpfulness score"),
    ReviewColumn("label", "Label", ColumnKind.NUMBER, "label", tooltip="Helpfulness label from the votes (0-4)"),
    ReviewColumn("votes", "Votes", ColumnKind.NUMBER, "votes", tooltip="Helpful votes"),
    ReviewColumn("rating", "\u2605", ColumnKind.NUMBER, "rating", tooltip="Star rating"),
    # the moderator's decision before the analyst's sub-scores: it stays on screen at 1280 px
    ReviewColumn("flag", "Flag", ColumnKind.FLAG, None, tooltip="Newest active flag and corrected label"),
    *(
        ReviewColumn(f"sub{i}", name, ColumnKind.SUBSCORE, col, tooltip=f"Sub-score {name}: {tip}")
        for i, (name, col, tip) in enumerate(zip(SUBSCORE_NAMES, SUBSCORE_COLUMNS, SUBSCORE_TOOLTIPS))
    ),
    ReviewColumn("date", "Date", ColumnKind.TEXT, "time", visible=False, tooltip="Review date (UTC)"),
    ReviewColumn("images", "Images", ColumnKind.NUMBER, None, visible=False, tooltip="Number of review images"),
    ReviewColumn("review_id", "Review id", ColumnKind.TEXT, "review_id", visible=False),
    # appended, so that header layouts saved before them keep their columns' places
    ReviewColumn("top_reason", "Top reason", ColumnKind.REASON, "top_reason", visible=False,
                 tooltip="What moved the score most: the largest part of its explanation, in score units "
                         "(the detail pane's \"Why this score\" shows every part); sorts by reason, then amount"),
    ReviewColumn("second_reason", "2nd reason", ColumnKind.REASON, "second_reason", visible=False,
                 tooltip="The second-largest part of the score's explanation; sorts by reason, then amount"),
)

ADDED_LATER = frozenset({"top_reason", "second_reason"})
"""Columns that layouts saved without a list of the columns they knew (before these existed)
did not know: they start at their default visibility, not shown because nobody hid them."""

COLUMN_INDEX = {c.key: i for i, c in enumerate(REVIEW_COLUMNS)}


def column(key: str) -> ReviewColumn:
    return REVIEW_COLUMNS[COLUMN_INDEX[key]]


def hidden_with_new_columns(hidden, known) -> frozenset[str]:
    """Remembered hidden columns plus every hidden-by-default column the layout did not know
    (``known``: the column keys it was saved with; None for a layout saved before they were
    remembered, which knew all but :data:`ADDED_LATER`)."""
    known = frozenset(known) if known is not None else frozenset(COLUMN_INDEX) - ADDED_LATER
    return frozenset(hidden) | {c.key for c in REVIEW_COLUMNS if c.key not in known and not c.visible}


def reason_index(col: ReviewColumn) -> int:
    """Position 0-1 of a reason column in ``ReviewRow.reasons``."""
    return 0 if col.key == "top_reason" else 1


def subscore_index(col: ReviewColumn) -> int:
    """Position 0-4 of a sub-score column in ``ReviewRow.sub_scores``."""
    return int(col.key[3:])
