"""The audit log: who did what to what, when.

Every function takes a Session and never commits; results are plain dataclasses."""
from __future__ import annotations

from typing import Any, Iterable, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AuditEvent, Flag, ModelVersion, Product, Review
from ..records import AuditRecord
from ._chunks import in_chunks

__all__ = [
    "record_audit",
    "list_audit_events",
]

MODEL_DETAIL_KEYS = ("model_version_id", "parent_id", "parent_model_id")
"""Keys of an event's details that hold a model version id."""


def record_audit(
    session: Session, actor: str, action: str, target_kind: str = "", target_id: Any = "", details: dict | None = None
) -> None:
    # Column widths are enforced by PostgreSQL (SQLite ignores them): clip, never fail an action on it.
    session.add(
        AuditEvent(actor=(actor or "")[:200], action=action[:64], target_kind=(target_kind or "")[:64],
                   target_id=str(target_id)[:200], details=details or {})
    )


def list_audit_events(session: Session, limit: int = 500, target_kind: str | None = None, target_id: Any = None) -> list[AuditRecord]:
    """The newest events first, each with its review (catalogue id, product), flag and model
    names resolved: a fixed number of queries however many events (never one per row)."""
    q = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if target_kind:
        q = q.where(AuditEvent.target_kind == target_kind)
    if target_id is not None:
        q = q.where(AuditEvent.target_id == str(target_id))
    events = [(e.id, e.at, e.actor, e.action, e.target_kind, e.target_id, dict(e.details or {}))
              for e in session.scalars(q)]
    review_pks: set[int] = set()
    flag_ids: set[int] = set()
    model_ids: set[int] = set()
    for *_, kind, tid, details in events:
        key = _as_id(tid)
        if key is not None:
            {"review": review_pks, "flag": flag_ids, "model": model_ids}.get(kind, set()).add(key)
        fid = _as_id(details.get("flag_id"))
        if fid is not None:
            flag_ids.add(fid)
        model_ids.update(m for m in (_as_id(details.get(k)) for k in MODEL_DETAIL_KEYS) if m is not None)
    flags = {
        fid: (rpk, kind, label)
        for fid, rpk, kind, label in _rows_in(session, select(Flag.id, Flag.review_pk, Flag.kind, Flag.corrected_label),
                                              Flag.id, flag_ids)
    }
    review_pks.update(rpk for rpk, _, _ in flags.values())
    reviews = {
        pk: (rid, pid, title or "")
        for pk, rid, pid, title in _rows_in(
            session,
            select(Review.id, Review.review_id, Product.product_id, Product.title).join(Product, Product.id == Review.product_pk),
            Review.id, review_pks,
        )
    }
    models = dict(_rows_in(session, select(ModelVersion.id, ModelVersion.name), ModelVersion.id, model_ids))

    out = []
    for eid, at, actor, action, kind, tid, details in events:
        key = _as_id(tid)
        flag = flags.get(key if kind == "flag" else _as_id(details.get("flag_id")))
        review_pk = key if kind == "review" else (flag[0] if flag else None)
        rid, pid, title = reviews.get(review_pk, ("", "", "")) if review_pk is not None else ("", "", "")
        named = [key] if kind == "model" else []
        named += [_as_id(details.get(k)) for k in MODEL_DETAIL_KEYS]
        out.append(AuditRecord(
            eid, at, actor, action, kind, tid, details, review_id=rid, product_id=pid, product_title=title,
            flag_kind=flag[1] if flag else "", flag_corrected_label=flag[2] if flag else None,
            model_names={m: models[m] for m in named if m in models},
        ))
    return out


def _as_id(value: Any) -> Optional[int]:
    """A database key from a target id or a details value ("12", 12), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


def _rows_in(session: Session, q, col, keys: Iterable[int]) -> list[tuple]:
    """Rows of ``q`` whose ``col`` is one of ``keys`` (no query when there are none)."""
    rows: list[tuple] = []
    for cond in in_chunks(col, sorted(keys)):
        rows.extend(tuple(r) for r in session.execute(q.where(cond)))
    return rows
