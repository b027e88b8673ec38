"""Export the review table's current view or all flags to CSV or JSONL (no Qt).

Plain dicts through the csv/json standard library. Files are written to a temporary name and renamed, so a failed export
never leaves half a file behind.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import os
import tempfile
from enum import Enum
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

from sqlalchemy.orm import Session

from storage import repository as repo
from storage.records import SUBSCORE_NAMES, ReviewRow

from .queries import all_reviews
from .state.rankings import RankInfo
from .state.review_table import ReviewQuery


class ExportFormat(Enum):
    CSV = "csv"
    JSONL = "jsonl"

    @classmethod
    def from_path(cls, path: str | Path) -> "ExportFormat":
        suffix = Path(path).suffix.lower().lstrip(".")
        if suffix in ("jsonl", "json", "ndjson"):
            return cls.JSONL
        if suffix == "csv":
            return cls.CSV
        raise ValueError(f"cannot tell the export format of {Path(path).name!r}: use .csv or .jsonl")


VIEW_FIELDS = (
    "review_id", "title", "model_rank", "score", "label", "helpful_votes", "rating",
    *SUBSCORE_NAMES, "flag_kind", "corrected_label", "n_images", "time", "text",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    # Review text is user content: keep spreadsheet programs from running it as a formula.
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


def write_records(path: str | Path, records: Iterable[Mapping[str, Any]], fields: Sequence[str], fmt: ExportFormat) -> int:
    """Write ``records`` to ``path``; returns how many were written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    n = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            if fmt is ExportFormat.CSV:
                writer = csv.DictWriter(fh, fieldnames=list(fields), extrasaction="ignore")
                writer.writeheader()
                for rec in records:
                    writer.writerow({k: _csv_cell(rec.get(k)) for k in fields})
                    n += 1
            else:
                for rec in records:
                    fh.write(json.dumps({k: rec.get(k) for k in fields}, ensure_ascii=False, default=_json_default) + "\n")
                    n += 1
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return n


def export_view(session: Session, query: ReviewQuery, path: str | Path) -> int:
    """Every row of the table's current filter and order, not only the loaded pages."""
    rows, ranks = all_reviews(session, query)
    return write_records(path, (view_record(r, ranks.get(r.id)) for r in rows), VIEW_FIELDS, ExportFormat.from_path(path))


def export_flags(session: Session, path: str | Path) -> int:
    """All active flags with their review and product ids."""
    fmt = ExportFormat.from_path(path)
    rows = repo.export_flags_rows(session)
    fields = list(rows[0]) if rows else [
        "flag_id", "review_id", "product_id", "kind", "corrected_label", "note", "author", "created_at",
        "model_version_id", "resolution",
    ]
    return write_records(path, rows, fields, fmt)
