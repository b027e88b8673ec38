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
)

COLUMN_INDEX = {c.key: i for i, c in enumerate(REVIEW_COLUMNS)}


def column(key: str) -> ReviewColumn:
    return REVIEW_COLUMNS[COLUMN_INDEX[key]]


def subscore_index(col: ReviewColumn) -> int:
    """Position 0-4 of a sub-score column in ``ReviewRow.sub_scores``."""
    return int(col.key[3:])
