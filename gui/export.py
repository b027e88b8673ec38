"""Export the review table's current view or all flags to CSV or JSONL (no Qt).

Writing (format from the extension, temporary file then rename, spreadsheet-safe CSV)
is ``storage.exporters``'; this module decides what a row of the *view* holds: the
columns the table shows, in its order, with the model rank.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from sqlalchemy.orm import Session

from storage import exporters
from storage.records import SUBSCORE_NAMES, ReviewRow

from .queries import all_reviews
from storage.ranking import RankInfo
from .state.review_table import ReviewQuery

VIEW_FIELDS = (
    "review_id", "title", "model_rank", "score", "label", "helpful_votes", "rating",
    *SUBSCORE_NAMES, "flag_kind", "corrected_label", "n_images", "time", "text",
)


def view_record(row: ReviewRow, rank: Optional[RankInfo]) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "review_id": row.review_id, "title": row.title, "model_rank": rank.model_rank if rank else None,
        "score": row.score, "label": row.label, "helpful_votes": row.helpful_votes, "rating": row.rating,
    }
    rec.update(zip(SUBSCORE_NAMES, row.sub_scores))
    rec.update(
        flag_kind=row.flag_kind, corrected_label=row.corrected_label, n_images=row.n_images, time=row.time, text=row.text
    )
    return rec


def export_view(session: Session, query: ReviewQuery, path: str | Path) -> int:
    """Every row of the table's current filter and order, not only the loaded pages."""
    exporters.export_format(path)  # refuse an unknown extension before reading anything
    rows, ranks = all_reviews(session, query)
    return exporters.export_rows((view_record(r, ranks.get(r.id)) for r in rows), path, fields=VIEW_FIELDS)


def export_flags(session: Session, path: str | Path) -> int:
    """All active flags with their review and product ids."""
    return exporters.export_flags(session, path)
