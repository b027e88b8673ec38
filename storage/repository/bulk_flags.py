"""Bulk flags: one kind, label and note given to many reviews at once, undone and redone as one.

The rules are those of a single flag (:mod:`.flags`): a review has at most one active flag,
so a review that has one gets it edited and any other gets a new one; undo withdraws the
flags the batch created and gives the edited ones their old values back; redo does it again.
Each runs as a few set-based statements (never one query per review) and records ONE audit
event, ``flag.bulk``, with the counts (``details["undo"]`` / ``["redo"]`` for undo and redo).

Undo and redo check each flag's version: a flag someone else changed since is left as they
left it, and :class:`~storage.records.BulkFlagStep` says who changed which (the rest is
undone all the same: one colleague's edit must not pin a thousand flags).

Every function takes a Session and never commits; results are plain dataclasses."""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Mapping, Optional, Sequence

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from ..errors import ConflictError
from ..models import Flag, Review, utcnow
from ..records import KEEP_LABEL, SUBSCORE_WRONG, BulkFlagChange, BulkFlagStep, FlagValuesTuple
from ._chunks import IN_CHUNK, in_chunks
from .audit import record_audit
from .flag_kinds import check_flag_kind
from .flags import _check_flag_args, _conflict

__all__ = [
    "bulk_flag_counts",
    "bulk_apply_flags",
    "bulk_undo_flags",
    "bulk_redo_flags",
    "flag_id_ranges",
]

CONFLICTS_NAMED = 3
"""How many of the flags someone else changed a bulk undo or redo names (the rest are counted)."""

_FLAGS = Flag.__table__


def _chunks(values: Sequence) -> Iterable[list]:
    values = list(values)
    for i in range(0, len(values), IN_CHUNK):
        yield values[i:i + IN_CHUNK]


def _existing(session: Session, review_pks: Iterable[int]) -> list[int]:
    """The keys among ``review_pks`` of reviews that exist, ascending, each once."""
    found: list[int] = []
    for cond in in_chunks(Review.id, sorted(set(review_pks))):
        found += session.scalars(select(Review.id).where(cond))
    return sorted(found)


def _active_flags(session: Session, review_pks: Sequence[int]) -> dict[int, tuple[int, str, Optional[int], str, int]]:
    """review pk -> (flag id, kind, corrected label, note, version) of its active flag (the
    newest not undone, as :func:`.flags.active_flag`), for those of ``review_pks`` that have one."""
    out: dict[int, tuple[int, str, Optional[int], str, int]] = {}
    for cond in in_chunks(Flag.review_pk, list(review_pks)):
        newest = (select(Flag.review_pk, func.max(Flag.id).label("fid"))
                  .where(Flag.undone.is_(False), cond).group_by(Flag.review_pk).subquery())
        q = (select(Flag.review_pk, Flag.id, Flag.kind, Flag.corrected_label, Flag.note, Flag.version)
             .join(newest, newest.c.fid == Flag.id))
        for rpk, fid, kind, label, note, version in session.execute(q):
            out[rpk] = (fid, kind, label, note or "", version)
    return out


def bulk_flag_counts(session: Session, review_pks: Sequence[int]) -> tuple[int, int]:
    """(reviews, how many of them have an active flag): what :func:`bulk_apply_flags` on
    ``review_pks`` would flag, and how many of those flags it would edit rather than create."""
    pks = _existing(session, review_pks)
    flagged = 0
    for cond in in_chunks(Flag.review_pk, pks):
        flagged += session.scalar(
            select(func.count(func.distinct(Flag.review_pk))).where(cond, Flag.undone.is_(False))) or 0
    return len(pks), flagged


def flag_id_ranges(ids: Iterable[int]) -> list[list[int]]:
    """``[[first, last], ...]`` covering ``ids`` exactly: the flags of a batch, compact enough for
    an audit event (the flags a batch creates have consecutive ids)."""
    ranges: list[list[int]] = []
    for i in sorted(set(ids)):
        if ranges and i == ranges[-1][1] + 1:
            ranges[-1][1] = i
        else:
            ranges.append([i, i])
    return ranges


def _label_text(label: Optional[int]) -> Any:
    return "kept" if label == KEEP_LABEL else label


def bulk_apply_flags(
    session: Session, review_pks: Sequence[int], kind: str, author: str, corrected_label: Optional[int] = KEEP_LABEL,
    note: Optional[str] = None, model_version_id: Optional[int] = None, scope: str = "",
) -> BulkFlagChange:
    """Flag every review of ``review_pks`` (those that still exist) with ``kind``: a review's
    active flag is edited, a review without one gets a new flag.

    ``corrected_label``: 0-4 or None (no corrected label); :data:`KEEP_LABEL` leaves an edited
    flag's label as it is (a new flag gets none). ``note``: the note; None leaves an edited
    flag's note (a new flag gets an empty one). ``scope`` says in the audit event what was chosen
    ("3 selected reviews", "the filter ..."). The kind must be offered (known, not retired), and
    not "sub-score wrong" (that names each review's own disputed sub-scores).
    """
    _check_flag_args(kind, None if corrected_label == KEEP_LABEL else corrected_label)
    if kind == SUBSCORE_WRONG:  # each review's flag names its own sub-scores (storage.repository.disputes)
        raise ValueError(f"{SUBSCORE_WRONG!r} cannot be given in bulk: dispute each review's sub-score itself")
    check_flag_kind(session, kind)
    pks = _existing(session, review_pks)
    active = _active_flags(session, pks)
    author = (author or "")[:200]
    items: list[tuple[int, int, Optional[FlagValuesTuple]]] = []
    versions: dict[int, int] = {}

    new = [pk for pk in pks if pk not in active]
    now = utcnow()
    new_label = None if corrected_label == KEEP_LABEL else corrected_label
    for chunk in _chunks(new):
        rows = [{"review_pk": pk, "kind": kind, "corrected_label": new_label, "note": note or "", "author": author,
                 "model_version_id": model_version_id, "created_at": now, "undone": False, "version": 1}
                for pk in chunk]
        for fid, rpk in session.execute(insert(_FLAGS).returning(_FLAGS.c.id, _FLAGS.c.review_pk), rows):
            items.append((fid, rpk, None))
            versions[fid] = 1

    edited = sorted((flag for flag in active.items()), key=lambda kv: kv[1][0])
    values: dict[str, Any] = {"kind": kind}
    if corrected_label != KEEP_LABEL:
        values["corrected_label"] = corrected_label
    if note is not None:
        values["note"] = note
    for chunk in _chunks(edited):
        ids = [fid for _rpk, (fid, *_rest) in chunk]
        n = session.execute(update(_FLAGS).where(_FLAGS.c.id.in_(ids), _FLAGS.c.undone.is_(False))
                            .values(**values, version=_FLAGS.c.version + 1)).rowcount
        if n != len(ids):
            raise ConflictError("some of the flags were changed by someone else at the same time; reload and retry")
        for rpk, (fid, old_kind, old_label, old_note, version) in chunk:
            items.append((fid, rpk, (old_kind, old_label, old_note)))
            versions[fid] = version + 1

    items.sort(key=lambda item: item[1])
    change = BulkFlagChange(tuple(items), kind, corrected_label, note, versions)
    record_audit(session, author, "flag.bulk", "reviews", change.count, {
        "count": change.count, "created": change.created, "edited": change.edited, "kind": kind,
        "corrected_label": _label_text(corrected_label), "note": note, "scope": scope,
        "model_version_id": model_version_id, "flags": flag_id_ranges(versions),
    })
    return change


def bulk_undo_flags(session: Session, change: BulkFlagChange, author: str,
                    expected: Optional[Mapping[int, int]] = None) -> BulkFlagStep:
    """Take a batch back: its new flags withdrawn, its edited flags given their old values.

    ``expected``: each flag's version as the caller last wrote it (default: as the batch left
    it); a flag at another version was changed by someone else and is left alone."""
    return _revert(session, change, author, expected, "undo")


def bulk_redo_flags(session: Session, change: BulkFlagChange, author: str,
                    expected: Optional[Mapping[int, int]] = None) -> BulkFlagStep:
    """Apply a batch again after :func:`bulk_undo_flags`: the same flags, the same values."""
    return _revert(session, change, author, expected, "redo")


def _revert(session: Session, change: BulkFlagChange, author: str, expected: Optional[Mapping[int, int]],
            cause: str) -> BulkFlagStep:
    expected = expected if expected is not None else change.versions

    def want(fid: int) -> int:
        return expected.get(fid, change.versions.get(fid, 0))

    ids = [fid for fid, _rpk, _before in change.items]
    current: dict[int, int] = {}
    for cond in in_chunks(Flag.id, ids):
        current.update(session.execute(select(Flag.id, Flag.version).where(cond)).all())
    ok = [item for item in change.items if current.get(item[0]) == want(item[0])]
    stale = [item for item in change.items if current.get(item[0]) != want(item[0])]

    # Group the flags that get the same values from the same version: one UPDATE per group and chunk.
    groups: dict[tuple, list[int]] = defaultdict(list)
    for fid, _rpk, before in ok:
        if before is None:
            groups[("undone", cause == "undo", want(fid))].append(fid)
        else:
            groups[("values", *(before if cause == "undo" else change.after(before)), want(fid))].append(fid)
    versions: dict[int, int] = {}
    for key, fids in groups.items():
        version = key[-1]
        if key[0] == "undone":
            values: dict[str, Any] = {"undone": key[1]}
        else:
            values = {"kind": key[1], "corrected_label": key[2], "note": key[3]}
        for chunk in _chunks(fids):
            n = session.execute(update(_FLAGS).where(_FLAGS.c.id.in_(chunk), _FLAGS.c.version == version)
                                .values(**values, version=version + 1)).rowcount
            if n != len(chunk):
                raise ConflictError("some of the flags were changed by someone else at the same time; reload and retry")
            versions.update((fid, version + 1) for fid in chunk)

    text = _conflicts_text(session, stale, want, cause, len(change.items)) if stale else ""
    record_audit(session, author, "flag.bulk", "reviews", len(ok), {
        cause: True, "count": len(ok), "created": sum(1 for item in ok if item[2] is None),
        "edited": sum(1 for item in ok if item[2] is not None), "kind": change.kind,
        "corrected_label": _label_text(change.corrected_label), "note": change.note, "conflicts": len(stale),
        "flags": flag_id_ranges(versions),
    })
    return BulkFlagStep(versions, frozenset(rpk for _fid, rpk, _before in ok), len(stale), text)


def _conflicts_text(session: Session, stale: list, want, cause: str, total: int) -> str:
    named = []
    for fid, rpk, _before in stale[:CONFLICTS_NAMED]:
        f = session.get(Flag, fid)
        if f is None:
            rid = session.scalar(select(Review.review_id).where(Review.id == rpk)) or f"#{rpk}"
            named.append(f"The flag on review {rid} no longer exists.")
        else:
            named.append(str(_conflict(session, f, want(fid))))
    more = len(stale) - len(named)
    verb = "undone" if cause == "undo" else "redone"
    head = (f"{len(stale):,} of the {total:,} flags of this bulk flag changed since and were left as they are; "
            f"the others were {verb}.")
    tail = f"\n\n\u2026and {more:,} more." if more else ""
    return head + "\n\n" + "\n\n".join(named) + tail
