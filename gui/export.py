"""Export the review table's current view or all flags to CSV or JSONL (no Qt).

Writing (format from the extension, temporary file then rename, spreadsheet-safe CSV)
is ``storage.exporters``'; this module decides what a row of the *view* holds: the
columns the table shows, in its order, with the model rank, the product, the model whose
score it is and when it was exported. With no product selected the view is the table's
filter over every product.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from sqlalchemy.orm import Session

from storage import exporters
from storage.ranking import RankInfo
from storage.records import SUBSCORE_NAMES, ReviewRow

from .queries import view_ranks, view_rows
from .state.review_table import ReviewQuery

VIEW_FIELDS = (
    "review_id", "product_id", "title", "model_rank", "score", "model_version", "model_version_id", "label",
    "helpful_votes", "rating", *SUBSCORE_NAMES, *exporters.EXPLANATION_FIELDS, "flag_kind", "corrected_label",
    "n_images", "time", "text", "exported_at",
)


def view_record(
    row: ReviewRow, rank: Optional[RankInfo], *, product_id: str = "", model_version: str = "",
    model_version_id: Optional[int] = None, exported_at: str = "",
) -> dict[str, Any]:
    """One exported row; the model's name and id only where it scored the review."""
    scored = row.score is not None
    rec: dict[str, Any] = {
        "review_id": row.review_id, "product_id": product_id, "title": row.title,
        "model_rank": rank.model_rank if rank else None, "score": row.score,
        "model_version": model_version if scored else "", "model_version_id": model_version_id if scored else None,
        "label": row.label, "helpful_votes": row.helpful_votes, "rating": row.rating,
    }
    rec.update(zip(SUBSCORE_NAMES, row.sub_scores))
    rec.update(
        flag_kind=row.flag_kind, corrected_label=row.corrected_label, n_images=row.n_images, time=row.time, text=row.text,
        exported_at=exported_at,
    )
    return rec


def export_view(session: Session, query: ReviewQuery, path: str | Path, exported_at: Optional[str] = None) -> int:
    """Every row of the table's current filter and order, not only the loaded pages; of every
    product when none is selected. Rows are streamed from the database to the file."""
    exporters.export_format(path)  # refuse an unknown extension before reading anything
    stamp = exported_at or exporters.export_timestamp()
    model = exporters.model_version_name(session, query.model_version_id)
    ranks = view_ranks(session, query)
    records = (
        {**view_record(row, ranks.get(row.id), product_id=product_id, model_version=model,
                       model_version_id=query.model_version_id, exported_at=stamp),
         **exporters.explanation_fields(parts)}
        for row, product_id, parts in exporters.with_explanations(session, query.model_version_id,
                                                                 view_rows(session, query, ranks))
    )
    return exporters.export_rows(records, path, fields=VIEW_FIELDS)


def export_flags(session: Session, path: str | Path) -> int:
    """All active flags with their review and product ids and the model they were made against."""
    return exporters.export_flags(session, path)
