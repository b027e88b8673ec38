"""Moderators' flags: add, edit, undo and redo with optimistic versions; export; resolution against a model.

A flag's kind must be one of ``flag_kinds`` and not retired (:mod:`.flag_kinds`); a flag that
already has a retired kind keeps it through edits that leave the kind alone.

Every function takes a Session and never commits; results are plain dataclasses."""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Optional

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ..errors import ConflictError, NotFoundError
from ..models import Flag, ModelVersion, Prediction, Product, Review
from ..ranking import RankInput, model_agrees
from ..records import FlagRecord, disputes_of, disputes_text
from .audit import record_audit
from .disputes import check_disputes, disputes_json, flag_disputes, set_flag_disputes
from .flag_kinds import check_flag_kind

__all__ = [
    "add_flag",
    "undo_flag",
    "redo_flag",
    "edit_flag",
    "list_flags",
    "export_flags_rows",
    "resolve_flags",
    "get_flag",
    "active_flag",
    "flag_resolutions",
]


def _flag_record(f: Flag) -> FlagRecord:
    return FlagRecord(
        f.id, f.review_pk, f.model_version_id, f.kind, f.corrected_label, f.note or "", f.author or "",
        f.created_at, bool(f.undone), f.resolution, f.version, flag_disputes(f),
    )


def _check_flag_args(kind: str, corrected_label: Optional[int]) -> None:
    if not kind or len(kind) > 64:
        raise ValueError("flag kind must be 1-64 characters")
    if corrected_label is not None and corrected_label not in (0, 1, 2, 3, 4):
        raise ValueError(f"corrected label must be 0-4, got {corrected_label!r}")


def add_flag(
    session: Session,
    review_pk: int,
    kind: str,
    author: str,
    corrected_label: Optional[int] = None,
    note: str = "",
    model_version_id: Optional[int] = None,
    interactions: Any = (),
) -> FlagRecord:
    """Flag a review. Earlier active flags of the same review stay; the newest one shows.

    ``interactions``: the sub-scores it disputes, ``{"p_t r_t": "too_high"}`` or pairs
    (:mod:`.disputes`); a "sub-score wrong" flag needs at least one."""
    _check_flag_args(kind, corrected_label)
    disputes = disputes_of(interactions)
    check_disputes(kind, disputes)
    check_flag_kind(session, kind)
    if session.get(Review, review_pk) is None:
        raise NotFoundError(f"no review #{review_pk}")
    f = Flag(
        review_pk=review_pk, kind=kind, corrected_label=corrected_label, note=note or "", author=(author or "")[:200],
        model_version_id=model_version_id,
    )
    set_flag_disputes(f, disputes)
    session.add(f)
    session.flush()
    details: dict[str, Any] = {"flag_id": f.id, "kind": kind, "corrected_label": corrected_label, "note": note,
                               "model_version_id": model_version_id}
    if disputes:
        details["interactions"] = disputes_json(disputes)
    record_audit(session, author, "flag.add", "review", review_pk, details)
    return _flag_record(f)


_CHANGE_WORDS = {"flag.add": "flagged it", "flag.edit": "edited it", "flag.undo": "withdrew it",
                 "flag.redo": "restored it", "flag.resolve": "resolved it"}


def _change_words(ev) -> str:
    if ev.action == "flag.bulk":
        d = ev.details if isinstance(ev.details, dict) else {}
        return "undid a bulk flag" if d.get("undo") else ("redid a bulk flag" if d.get("redo") else "bulk-flagged it")
    return _CHANGE_WORDS.get(ev.action, ev.action)


def _describe(f: Flag) -> str:
    label = "no corrected label" if f.corrected_label is None else f"label {f.corrected_label}"
    state = "withdrawn" if f.undone else "active"
    disputes = flag_disputes(f)
    disputed = f", disputes {disputes_text(disputes).replace(';', ', ')}" if disputes else ""
    return f"now {f.kind!r}, {label}{disputed}, {state}"


def _conflict(session: Session, f: Flag, expected_version: int) -> ConflictError:
    """The error for a stale write: who changed the flag last, how, when, and what it is now."""
    from ..models import AuditEvent

    last = None
    for ev in session.scalars(
        select(AuditEvent).where(AuditEvent.target_kind == "review", AuditEvent.target_id == str(f.review_pk),
                                 AuditEvent.action.like("flag.%")).order_by(AuditEvent.id.desc()).limit(50)
    ):
        if isinstance(ev.details, dict) and ev.details.get("flag_id") == f.id:
            last = ev
            break
    for ev in session.scalars(  # a bulk flag names its flags as id ranges (storage.repository.bulk_flags)
        select(AuditEvent).where(AuditEvent.action == "flag.bulk").order_by(AuditEvent.id.desc()).limit(20)
    ):
        if last is not None and ev.id < last.id:
            break
        ranges = ev.details.get("flags") if isinstance(ev.details, dict) else None
        if isinstance(ranges, list) and any(isinstance(r, list) and len(r) == 2 and r[0] <= f.id <= r[1]
                                            for r in ranges):
            last = ev
            break
    review_id = session.scalar(select(Review.review_id).where(Review.id == f.review_pk)) or f"#{f.review_pk}"
    who = (f"{last.actor or 'someone'} {_change_words(last)} at {last.at:%Y-%m-%d %H:%M}"
           if last is not None else "someone else changed it")
    return ConflictError(
        f"The flag on review {review_id} changed since you last saw it: {who} ({_describe(f)}; version {f.version}, "
        f"you had {expected_version}). Reload to see it, then decide again."
    )


def _set_flag_undone(session: Session, flag_id: int, undone: bool, author: str, expected_version: int | None) -> FlagRecord:
    f = session.get(Flag, flag_id)
    if f is None:
        raise NotFoundError(f"no flag #{flag_id}")
    if expected_version is not None and f.version != expected_version:
        raise _conflict(session, f, expected_version)
    f.undone = undone
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError(f"flag #{flag_id} was changed by someone else at the same time; reload and retry") from exc
    # The flag's kind and label as they were withdrawn or restored: the audit log reads "undo of: flag 'spam'".
    details: dict[str, Any] = {"flag_id": flag_id, "kind": f.kind, "corrected_label": f.corrected_label}
    disputes = flag_disputes(f)
    if disputes:
        details["interactions"] = disputes_json(disputes)
    record_audit(session, author, "flag.undo" if undone else "flag.redo", "review", f.review_pk, details)
    return _flag_record(f)


def undo_flag(session: Session, flag_id: int, author: str, expected_version: int | None = None) -> FlagRecord:
    return _set_flag_undone(session, flag_id, True, author, expected_version)


def redo_flag(session: Session, flag_id: int, author: str, expected_version: int | None = None) -> FlagRecord:
    return _set_flag_undone(session, flag_id, False, author, expected_version)


EDIT_CAUSES = ("", "undo", "redo")
"""Why a flag is edited: a moderator's change, or the undo / redo of an earlier one."""


def edit_flag(
    session: Session, flag_id: int, author: str, expected_version: int, *, kind: str | None = None,
    corrected_label: Optional[int] = -1, note: str | None = None, cause: str = "", allow_retired: bool = False,
    interactions: Any = None,
) -> FlagRecord:
    """Change a flag; ``expected_version`` must match or ConflictError tells the loser.

    ``interactions``: the disputes it gets (all of them, see :func:`add_flag`); None keeps its
    own. A flag that is, or becomes, "sub-score wrong" must keep at least one, except through
    undo and redo, which put back what it had (a flag of before 0007 may have none).

    ``cause`` "undo" or "redo" marks the audit event as the undo or redo of an earlier edit
    (``details["undo"]`` / ``details["redo"]``), so that the log does not read as a new decision.
    A new ``kind`` must be offered (known, not retired); ``allow_retired`` lets undo and redo
    put back a kind that was retired since."""
    if cause not in EDIT_CAUSES:
        raise ValueError(f"edit cause must be one of {EDIT_CAUSES}, got {cause!r}")
    f = session.get(Flag, flag_id)
    if f is None:
        raise NotFoundError(f"no flag #{flag_id}")
    if f.version != expected_version:
        raise _conflict(session, f, expected_version)
    old_disputes = flag_disputes(f)
    before: dict[str, Any] = {"kind": f.kind, "corrected_label": f.corrected_label, "note": f.note}
    new_disputes = old_disputes if interactions is None else disputes_of(interactions)
    kind_changes = kind is not None and kind != f.kind
    if not cause and (kind_changes or new_disputes != old_disputes):
        check_disputes(kind if kind is not None else f.kind, new_disputes)
    if kind_changes:
        check_flag_kind(session, kind, allow_retired=allow_retired)
        f.kind = kind
    if corrected_label != -1:
        f.corrected_label = corrected_label
    if note is not None:
        f.note = note
    _check_flag_args(f.kind, f.corrected_label)
    set_flag_disputes(f, new_disputes)
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError(f"flag #{flag_id} was changed by someone else at the same time; reload and retry") from exc
    after: dict[str, Any] = {"kind": f.kind, "corrected_label": f.corrected_label, "note": f.note}
    if old_disputes or new_disputes:
        before["interactions"], after["interactions"] = disputes_json(old_disputes), disputes_json(new_disputes)
    details: dict[str, Any] = {"flag_id": flag_id, "before": before, "after": after}
    if cause:
        details[cause] = True
    record_audit(session, author, "flag.edit", "review", f.review_pk, details)
    return _flag_record(f)


def list_flags(session: Session, include_undone: bool = False) -> list[FlagRecord]:
    q = select(Flag).order_by(Flag.id)
    if not include_undone:
        q = q.where(Flag.undone.is_(False))
    return [_flag_record(f) for f in session.scalars(q)]


def export_flags_rows(session: Session) -> list[dict[str, Any]]:
    """All active flags joined with their review and product ids and the name of the model
    they were made against (``model_version``, empty when none), for CSV/JSONL export;
    ``disputed_interactions`` reads ``"p_t r_t:too_high;r_t r_v:too_low"`` ("" for none)."""
    q = (
        select(Flag, Review.review_id, Product.product_id, ModelVersion.name)
        .join(Review, Review.id == Flag.review_pk)
        .join(Product, Product.id == Review.product_pk)
        .outerjoin(ModelVersion, ModelVersion.id == Flag.model_version_id)
        .where(Flag.undone.is_(False))
        .order_by(Flag.id)
    )
    return [
        {
            "flag_id": f.id, "review_id": rid, "product_id": pid, "kind": f.kind, "corrected_label": f.corrected_label,
            "note": f.note, "author": f.author, "created_at": f.created_at.isoformat(), "model_version_id": f.model_version_id,
            "model_version": mname or "", "resolution": f.resolution,
            "disputed_interactions": disputes_text(flag_disputes(f)),
        }
        for f, rid, pid, mname in session.execute(q)
    ]


def resolve_flags(session: Session, model_version_id: int) -> int:
    """Mark active, unresolved flags with a corrected label that the model now agrees with:
    it places the review among the reviews of that label (:func:`storage.ranking.model_agrees`,
    the same rule as the review table and the disagreement queue). Returns how many."""
    flags = session.execute(
        select(Flag.id, Flag.review_pk, Flag.corrected_label, Review.product_pk)
        .join(Review, Review.id == Flag.review_pk)
        .where(Flag.undone.is_(False), Flag.resolution.is_(None), Flag.corrected_label.is_not(None))
    ).all()
    if not flags:
        return 0
    products = {f[3] for f in flags}
    items: dict[int, list[RankInput]] = defaultdict(list)
    q = (select(Review.product_pk, Review.id, Prediction.score, Review.label)
         .outerjoin(Prediction, and_(Prediction.review_pk == Review.id, Prediction.model_version_id == model_version_id))
         .where(Review.product_pk.in_(products)).order_by(Review.product_pk, Review.id))
    for ppk, rpk, score, label in session.execute(q):
        items[ppk].append(RankInput(rpk, score, label))
    n = 0
    for fid, rpk, corrected, ppk in flags:
        if model_agrees(items[ppk], rpk, corrected):
            session.execute(update(Flag).where(Flag.id == fid).values(resolution=f"resolved by model #{model_version_id}"))
            n += 1
    return n


def get_flag(session: Session, flag_id: int) -> FlagRecord:
    f = session.get(Flag, flag_id)
    if f is None:
        raise NotFoundError(f"no flag #{flag_id}")
    return _flag_record(f)


def active_flag(session: Session, review_pk: int) -> FlagRecord | None:
    """The newest flag of a review that is not undone (the one the table shows)."""
    f = session.scalar(
        select(Flag).where(Flag.review_pk == review_pk, Flag.undone.is_(False)).order_by(Flag.id.desc()).limit(1)
    )
    return _flag_record(f) if f is not None else None


def flag_resolutions(session: Session, product_pk: int) -> dict[int, str]:
    """review_pk -> resolution of the review's newest active flag, for the reviews of a
    product whose flag a model resolved (:func:`resolve_flags`)."""
    newest = (
        select(Flag.review_pk, func.max(Flag.id).label("fid"))
        .join(Review, Review.id == Flag.review_pk)
        .where(Review.product_pk == product_pk, Flag.undone.is_(False))
        .group_by(Flag.review_pk)
        .subquery()
    )
    q = select(Flag.review_pk, Flag.resolution).join(newest, newest.c.fid == Flag.id).where(Flag.resolution.is_not(None))
    return {pk: res for pk, res in session.execute(q)}
