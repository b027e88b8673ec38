"""Export flags or review rows to CSV or JSONL, chosen by the file extension.

Files are written to a temporary file beside the target and renamed, so a failed export
never leaves half a file; rows are written as they come (a generator of 100k rows is never
held in memory when the columns are given). Every exported row says when it was exported
(``exported_at``, UTC, ISO 8601). CSV cells that a spreadsheet would run as a formula (text
starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) get a leading ``'``
unless ``spreadsheet_safe=False``; JSONL is written as is (UTF-8, one object a line).
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from sqlalchemy.orm import Session

from . import repository as repo
from .errors import StorageError
from .models import SUBSCORE_COLUMNS
from .records import ReviewFilter, ReviewRow, reason_text

EXPORT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Row = Union[Mapping[str, Any], Any]


def export_timestamp() -> str:
    """Now, UTC, ISO 8601 to the second (``2024-05-01T12:00:00+00:00``): the ``exported_at`` of a file's rows."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def export_format(path: Union[str, Path]) -> str:
    """``"csv"`` or ``"jsonl"`` from the extension; StorageError otherwise."""
    fmt = EXPORT_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise StorageError(f"cannot export to {Path(path).name!r}: use a .csv or .jsonl file name")
    return fmt


def _as_dict(row: Row) -> dict[str, Any]:
    if isinstance(row, ReviewRow):
        return review_row_dict(row)
    if dataclasses.is_dataclass(row) and not isinstance(row, type):
        return dataclasses.asdict(row)
    if isinstance(row, Mapping):
        return dict(row)
    raise TypeError(f"cannot export a {type(row).__name__}; give mappings or dataclasses")


def _jsonable(v: Any) -> Any:
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    if isinstance(v, tuple):
        return list(v)
    return v


def _cell(v: Any, safe: bool) -> Any:
    if v is None:
        return ""
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(_jsonable(list(v) if isinstance(v, tuple) else v), ensure_ascii=False, default=str)
    if isinstance(v, bool):
        return "true" if v else "false"
    if safe and isinstance(v, str) and v.startswith(_FORMULA_START):
        return "'" + v
    return v


def review_row_dict(row: ReviewRow) -> dict[str, Any]:
    """A review-table row as a flat dict (sub-scores as one column each)."""
    d = dataclasses.asdict(row)
    subs = d.pop("sub_scores")
    for name, v in zip(SUBSCORE_COLUMNS, subs):
        d[name] = v
    return d


def export_rows(
    rows: Iterable[Row], path: Union[str, Path], *, fields: Optional[Sequence[str]] = None, spreadsheet_safe: bool = True
) -> int:
    """Write ``rows`` (mappings or dataclasses) to ``path`` (.csv or .jsonl). Returns the row count.

    CSV columns are ``fields`` or the keys of the first row (then any new keys in order of
    appearance); a header is written even with no rows when ``fields`` is given. With
    ``fields`` the rows are streamed; without, they are read first to find the columns.
    """
    path = Path(path)
    fmt = export_format(path)
    dicts: Iterable[dict[str, Any]] = (_as_dict(r) for r in rows)
    if fields is None:
        dicts = list(dicts)
        seen: dict[str, None] = {}
        for d in dicts:
            for k in d:
                seen.setdefault(k, None)
        fields = list(seen)
    n = 0
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            if fmt == "csv":
                w = csv.writer(f, lineterminator="\n")
                if fields:
                    w.writerow(fields)
                for d in dicts:
                    w.writerow([_cell(d.get(k), spreadsheet_safe) for k in fields])
                    n += 1
            else:
                for d in dicts:
                    obj = {k: _jsonable(d.get(k)) for k in fields} if fields else {}
                    f.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
                    n += 1
        os.replace(tmp, path)
    except OSError as exc:
        _unlink(tmp)
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:
        _unlink(tmp)
        raise
    return n


def _unlink(p: str) -> None:
    try:
        os.unlink(p)
    except OSError:
        pass


FLAG_FIELDS = (
    "flag_id", "review_id", "product_id", "kind", "corrected_label", "note", "author", "created_at",
    "model_version_id", "model_version", "resolution", "disputed_interactions", "exported_at",
)
EXPLANATION_FIELDS = ("score_base", "top_reason", "score_parts")
"""A score's explanation in an export: its base, its largest part in words ("review length
+0.42") and every part as JSON ``[[label, value], ...]``, largest first (base + parts =
score); empty where the score has no stored explanation."""
REVIEW_FIELDS = (
    "id", "review_id", "product_pk", "product_id", "title", "text", "rating", "helpful_votes", "label", "time",
    "n_images", "score", *SUBSCORE_COLUMNS, *EXPLANATION_FIELDS, "model_version_id", "model_version", "flag_kind",
    "flag_id", "corrected_label", "exported_at",
)


def explanation_fields(parts) -> dict[str, Any]:
    """The :data:`EXPLANATION_FIELDS` of one review (``parts``: a ``ScoreParts`` or None)."""
    if parts is None or not parts.parts:
        return {"score_base": None, "top_reason": "", "score_parts": ""}
    ordered = parts.ranked()
    top = ordered[0]
    return {"score_base": round(parts.base, 6), "top_reason": reason_text(top.label, top.value),
            "score_parts": json.dumps([[p.label, round(p.value, 6)] for p in ordered], ensure_ascii=False)}


def with_explanations(session: Session, model_version_id: Optional[int], rows, chunk: int = 500):
    """``(row, product_id)`` pairs as they stream, each with its stored explanation (or None),
    read a chunk of rows at a time."""
    batch: list = []

    def flush():
        parts = repo.score_parts_by_pks(session, model_version_id, [r.id for r, _ in batch]) if model_version_id else {}
        for r, pid in batch:
            yield r, pid, parts.get(r.id)

    for item in rows:
        batch.append(item)
        if len(batch) >= chunk:
            yield from flush()
            batch = []
    if batch:
        yield from flush()


def export_flags(session: Session, path: Union[str, Path], *, exported_at: Optional[str] = None, **kwargs) -> int:
    """All active flags with their review and product ids and the model they were made
    against (see ``repository.export_flags_rows``)."""
    export_format(path)
    stamp = exported_at or export_timestamp()
    rows = ({**r, "exported_at": stamp} for r in repo.export_flags_rows(session))
    return export_rows(rows, path, fields=FLAG_FIELDS, **kwargs)


def model_version_name(session: Session, model_version_id: Optional[int]) -> str:
    """The name of a model version for an export's ``model_version`` column ("" for none)."""
    if model_version_id is None:
        return ""
    return repo.get_model_version(session, model_version_id).name


def export_reviews(
    session: Session,
    path: Union[str, Path],
    *,
    product_pk: Optional[int] = None,
    model_version_id: Optional[int] = None,
    order_by: str = "score",
    descending: bool = True,
    flt: Optional[ReviewFilter] = None,
    exported_at: Optional[str] = None,
    **kwargs,
) -> int:
    """Review-table rows (one product or all) with the model's scores and flag state; the
    model's name and id only on the rows it scored."""
    export_format(path)
    stamp = exported_at or export_timestamp()
    model = model_version_name(session, model_version_id)

    def dicts():
        rows = repo.iter_reviews(session, product_pk, model_version_id, order_by, descending, flt)
        for row, product_id, parts in with_explanations(session, model_version_id, rows):
            d = review_row_dict(row)
            d.update(explanation_fields(parts))
            scored = row.score is not None
            d.update(product_id=product_id, model_version_id=model_version_id if scored else None,
                     model_version=model if scored else "", exported_at=stamp)
            yield d

    return export_rows(dicts(), path, fields=REVIEW_FIELDS, **kwargs)


__all__ = ["export_rows", "export_flags", "export_reviews", "explanation_fields", "with_explanations", "EXPLANATION_FIELDS", "export_format", "export_timestamp", "model_version_name",
           "review_row_dict", "EXPORT_FORMATS"]
