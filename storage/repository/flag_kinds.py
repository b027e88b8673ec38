"""Flag kinds: list, add, rename, retire, restore and reorder the kinds moderators give flags.

A flag stores its kind as a string. Renaming a kind renames it in every flag that uses it (in
the same transaction), so history shows the new name; retiring a kind keeps it on its flags
(they still display) but it is no longer accepted for a new flag or a change of kind. The
kinds the corrected-label keys and the sub-score disputes write (:data:`BUILT_IN_KINDS`) cannot
be renamed or retired.

Every function takes a Session and never commits; results are plain dataclasses."""
from __future__ import annotations

import unicodedata

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import NotFoundError, StorageError
from ..models import Flag, FlagKind, utcnow
from ..ranking import AGREES_KIND, MODEL_TOO_HIGH, MODEL_TOO_LOW
from ..records import SUBSCORE_WRONG, FlagKindRecord
from .audit import record_audit

__all__ = [
    "BUILT_IN_KINDS",
    "MAX_KIND_LENGTH",
    "list_flag_kinds",
    "add_flag_kind",
    "rename_flag_kind",
    "retire_flag_kind",
    "restore_flag_kind",
    "move_flag_kind",
    "check_flag_kind",
]

BUILT_IN_KINDS = (MODEL_TOO_HIGH, MODEL_TOO_LOW, AGREES_KIND, SUBSCORE_WRONG)
"""Written by the corrected-label keys (storage.ranking.correction_kind) and by disputing a
sub-score (storage.repository.disputes): always offered."""

MAX_KIND_LENGTH = 64  # flags.kind and flag_kinds.name are VARCHAR(64)


def _record(k: FlagKind) -> FlagKindRecord:
    return FlagKindRecord(k.id, k.name, k.position, k.retired_at, k.created_at, k.name in BUILT_IN_KINDS)


def _ordered(session: Session) -> list[FlagKind]:
    return list(session.scalars(select(FlagKind).order_by(FlagKind.position, FlagKind.id)))


def _clean_name(name: str) -> str:
    """The name as stored: trimmed, 1..64 characters, one line."""
    if not isinstance(name, str):
        raise StorageError(f"a flag kind name must be text, got {type(name).__name__}")
    name = name.strip()
    if not name:
        raise StorageError("a flag kind needs a name")
    if len(name) > MAX_KIND_LENGTH:
        raise StorageError(f"a flag kind name has at most {MAX_KIND_LENGTH} characters; {name[:20]!r}... has {len(name)}")
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in name):
        raise StorageError("a flag kind name must be one line, without tabs or control characters")
    return name


def _get(session: Session, name: str) -> FlagKind:
    k = session.scalar(select(FlagKind).where(FlagKind.name == name))
    if k is None:
        raise NotFoundError(f"no flag kind {name!r} (someone may have renamed it: reload the list)")
    return k


def _refuse_taken(session: Session, name: str, other_than: FlagKind | None = None) -> None:
    """Names are unique whatever their case ("Spam" and "spam" would read as one kind)."""
    folded = name.casefold()
    for k in _ordered(session):
        if k is not other_than and k.name.casefold() == folded:
            state = " (retired: restore it instead)" if k.retired_at is not None else ""
            raise StorageError(f"there is already a flag kind {k.name!r}{state}")


def _refuse_built_in(k: FlagKind, what: str) -> None:
    if k.name in BUILT_IN_KINDS:
        why = "disputing a sub-score gives" if k.name == SUBSCORE_WRONG else "the corrected-label keys (0-4) give"
        raise StorageError(f"{k.name!r} cannot be {what}: {why} flags this kind")


def _flush_unique(session: Session, name: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:  # another writer took the name at the same moment
        raise StorageError(f"there is already a flag kind {name!r}") from exc


def list_flag_kinds(session: Session, include_retired: bool = False) -> list[FlagKindRecord]:
    """The kinds in their order: only those offered for new flags, or all (retired ones too)."""
    return [_record(k) for k in _ordered(session) if include_retired or k.retired_at is None]


def add_flag_kind(session: Session, name: str, actor: str) -> FlagKindRecord:
    """A new kind, offered for new flags, placed last."""
    name = _clean_name(name)
    _refuse_taken(session, name)
    last = session.scalar(select(func.max(FlagKind.position)))
    k = FlagKind(name=name, position=(last if last is not None else -1) + 1)
    session.add(k)
    _flush_unique(session, name)
    record_audit(session, actor, "flag_kind.add", "flag_kind", k.id, {"name": name})
    return _record(k)


def rename_flag_kind(session: Session, name: str, new_name: str, actor: str) -> FlagKindRecord:
    """Rename a kind and the kind of every flag that has it (history shows the new name)."""
    k = _get(session, name)
    new_name = _clean_name(new_name)
    if new_name == k.name:
        return _record(k)
    _refuse_built_in(k, "renamed")
    _refuse_taken(session, new_name, other_than=k)
    old = k.name
    k.name = new_name
    _flush_unique(session, new_name)
    # The flags' versions stay: a rename changes no moderator's decision, so it must not make
    # an open flag dialog or the undo stack report a conflict.
    n = session.execute(update(Flag).where(Flag.kind == old).values(kind=new_name)
                        .execution_options(synchronize_session="fetch")).rowcount
    record_audit(session, actor, "flag_kind.rename", "flag_kind", k.id, {"from": old, "to": new_name, "flags": n})
    return _record(k)


def retire_flag_kind(session: Session, name: str, actor: str) -> FlagKindRecord:
    """No longer offer a kind for new flags; the flags that have it keep it."""
    k = _get(session, name)
    _refuse_built_in(k, "retired")
    if k.retired_at is None:
        k.retired_at = utcnow()
        session.flush()
        n = session.scalar(select(func.count()).select_from(Flag).where(Flag.kind == k.name))
        record_audit(session, actor, "flag_kind.retire", "flag_kind", k.id, {"name": k.name, "flags": n})
    return _record(k)


def restore_flag_kind(session: Session, name: str, actor: str) -> FlagKindRecord:
    """Offer a retired kind for new flags again."""
    k = _get(session, name)
    if k.retired_at is not None:
        k.retired_at = None
        session.flush()
        record_audit(session, actor, "flag_kind.restore", "flag_kind", k.id, {"name": k.name})
    return _record(k)


def move_flag_kind(session: Session, name: str, offset: int, actor: str) -> list[FlagKindRecord]:
    """Move a kind ``offset`` places (negative: up) in the order the flag dialog offers them;
    returns all kinds in their new order."""
    kinds = _ordered(session)
    k = _get(session, name)
    i = kinds.index(k)
    j = max(0, min(len(kinds) - 1, i + offset))
    if j != i:
        kinds.insert(j, kinds.pop(i))
        for position, kind in enumerate(kinds):
            kind.position = position
        session.flush()
        record_audit(session, actor, "flag_kind.move", "flag_kind", k.id, {"name": k.name, "from": i, "to": j})
    return [_record(x) for x in kinds]


def check_flag_kind(session: Session, kind: str, allow_retired: bool = False) -> None:
    """Refuse a kind a flag may not be given: unknown, or retired (unless ``allow_retired``:
    undo and redo put back what a flag had)."""
    k = session.scalar(select(FlagKind).where(FlagKind.name == kind)) if isinstance(kind, str) else None
    if k is None:
        offered = ", ".join(repr(x.name) for x in _ordered(session) if x.retired_at is None)
        raise StorageError(f"unknown flag kind {kind!r}; the kinds are {offered}")
    if k.retired_at is not None and not allow_retired:
        raise StorageError(f"the flag kind {kind!r} is retired: choose another kind, or restore it first")
