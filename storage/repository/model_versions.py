"""Registered model versions: register, list, activate, delete, metrics.

Every function takes a Session and never commits; results are plain dataclasses."""
from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ..errors import NotFoundError, StorageError
from ..models import AuditEvent, ModelVersion, Prediction, ProductRank, ReviewRank
from ..records import ModelVersionRecord
from .audit import record_audit

__all__ = [
    "register_model_version",
    "list_model_versions",
    "get_model_version",
    "get_active_model",
    "activate_model",
    "delete_model_version",
    "update_model_metrics",
    "previous_model_version",
]


def _mv_record(m: ModelVersion) -> ModelVersionRecord:
    return ModelVersionRecord(
        m.id, m.name, m.parent_id, m.checkpoint_path, m.checkpoint_sha256, dict(m.config or {}), dict(m.metrics or {}),
        dict(m.card or {}), bool(m.active), m.created_at,
    )


def register_model_version(
    session: Session, name: str, checkpoint_path: str, checkpoint_sha256: str, *, parent_id: int | None = None,
    config: dict | None = None, metrics: dict | None = None, card: dict | None = None, activate: bool = False,
    actor: str = "engine",
) -> ModelVersionRecord:
    if session.scalar(select(ModelVersion.id).where(ModelVersion.name == name)) is not None:
        raise StorageError(f"a model version named {name!r} already exists")
    m = ModelVersion(
        name=name, parent_id=parent_id, checkpoint_path=str(checkpoint_path), checkpoint_sha256=checkpoint_sha256,
        config=config or {}, metrics=metrics or {}, card=card or {}, active=False,
    )
    session.add(m)
    session.flush()
    record_audit(session, actor, "model.register", "model", m.id, {"name": name, "parent_id": parent_id})
    if activate:
        activate_model(session, m.id, actor=actor)
    return _mv_record(m)


def list_model_versions(session: Session) -> list[ModelVersionRecord]:
    return [_mv_record(m) for m in session.scalars(select(ModelVersion).order_by(ModelVersion.id))]


def get_model_version(session: Session, name_or_id: str | int) -> ModelVersionRecord:
    if isinstance(name_or_id, int) or (isinstance(name_or_id, str) and name_or_id.isdigit()):
        m = session.get(ModelVersion, int(name_or_id))
    else:
        m = session.scalar(select(ModelVersion).where(ModelVersion.name == name_or_id))
    if m is None:
        raise NotFoundError(f"no model version {name_or_id!r}")
    return _mv_record(m)


def get_active_model(session: Session) -> ModelVersionRecord | None:
    m = session.scalar(select(ModelVersion).where(ModelVersion.active.is_(True)))
    return _mv_record(m) if m else None


def activate_model(session: Session, model_id: int, actor: str = "") -> None:
    if session.get(ModelVersion, model_id) is None:
        raise NotFoundError(f"no model version #{model_id}")
    session.execute(update(ModelVersion).where(ModelVersion.id != model_id).values(active=False))
    session.execute(update(ModelVersion).where(ModelVersion.id == model_id).values(active=True))
    record_audit(session, actor, "model.activate", "model", model_id)


def delete_model_version(session: Session, model_id: int, actor: str = "") -> ModelVersionRecord:
    m = session.get(ModelVersion, model_id)
    if m is None:
        raise NotFoundError(f"no model version #{model_id}")
    rec = _mv_record(m)
    session.execute(delete(ReviewRank).where(ReviewRank.model_version_id == model_id))
    session.execute(delete(ProductRank).where(ProductRank.model_version_id == model_id))
    session.execute(delete(Prediction).where(Prediction.model_version_id == model_id))
    session.delete(m)
    record_audit(session, actor, "model.delete", "model", model_id, {"name": rec.name})
    return rec


def update_model_metrics(session: Session, model_id: int, metrics: dict) -> None:
    m = session.get(ModelVersion, model_id)
    if m is None:
        raise NotFoundError(f"no model version #{model_id}")
    m.metrics = {**(m.metrics or {}), **metrics}


def previous_model_version(session: Session, model_id: int) -> ModelVersionRecord | None:
    """The model that was active before ``model_id`` was last activated (from the audit
    trail), else its parent; None when neither exists any more."""
    events = session.execute(
        select(AuditEvent.target_id).where(AuditEvent.action == "model.activate").order_by(AuditEvent.id.desc())
    ).scalars().all()
    seen_self = False
    for target in events:
        if target == str(model_id):
            seen_self = True
        elif seen_self and target.isdigit():
            m = session.get(ModelVersion, int(target))
            if m is not None:
                return _mv_record(m)
    m = session.get(ModelVersion, model_id)
    parent = session.get(ModelVersion, m.parent_id) if m is not None and m.parent_id is not None else None
    return _mv_record(parent) if parent is not None else None
