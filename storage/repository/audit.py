"""The audit log: who did what to what, when.

Every function takes a Session and never commits; results are plain dataclasses."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AuditEvent
from ..records import AuditRecord

__all__ = [
    "record_audit",
    "list_audit_events",
]


def record_audit(
    session: Session, actor: str, action: str, target_kind: str = "", target_id: Any = "", details: dict | None = None
) -> None:
    # Column widths are enforced by PostgreSQL (SQLite ignores them): clip, never fail an action on it.
    session.add(
        AuditEvent(actor=(actor or "")[:200], action=action[:64], target_kind=(target_kind or "")[:64],
                   target_id=str(target_id)[:200], details=details or {})
    )


def list_audit_events(session: Session, limit: int = 500, target_kind: str | None = None, target_id: Any = None) -> list[AuditRecord]:
    q = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if target_kind:
        q = q.where(AuditEvent.target_kind == target_kind)
    if target_id is not None:
        q = q.where(AuditEvent.target_id == str(target_id))
    return [
        AuditRecord(e.id, e.at, e.actor, e.action, e.target_kind, e.target_id, dict(e.details or {}))
        for e in session.scalars(q)
    ]
