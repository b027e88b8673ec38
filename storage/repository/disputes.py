"""Disputed sub-scores: a flag names the interactions whose sub-score it says is too high or too low.

A flag's disputes live in ``flag_interactions`` (one row per interaction, migration
0007_flag_interactions) and change with the flag: :func:`set_flag_disputes` is what
:func:`.flags.add_flag` and :func:`.flags.edit_flag` call, and a change of the disputes alone
is a change of the flag (its version moves, so a colleague's stale edit is refused as for any
other field). A flag of kind "sub-score wrong" names at least one (:func:`check_disputes`).

Readers: the training catalogue (:func:`disputed_interactions`: what the engine leaves out of
the subtask losses) and the Models view (:func:`dispute_counts`).

Every function takes a Session and never commits; results are plain dataclasses.
"""
from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from ..models import Flag, FlagInteraction
from ..records import SUBSCORE_NAMES, SUBSCORE_WRONG, TOO_HIGH, TOO_LOW, DisputeCount, Disputes, disputes_of

__all__ = [
    "check_disputes",
    "disputes_json",
    "flag_disputes",
    "set_flag_disputes",
    "disputed_interactions",
    "dispute_counts",
]


def check_disputes(kind: str, disputes: Disputes) -> None:
    """A "sub-score wrong" flag must say which sub-score: ValueError otherwise."""
    if kind == SUBSCORE_WRONG and not disputes:
        raise ValueError(f"a {SUBSCORE_WRONG!r} flag names at least one interaction and whether it is too high or too low")


def flag_disputes(f: Flag) -> Disputes:
    """The disputes of a loaded flag, in SUBSCORE_NAMES order."""
    return disputes_of((i.interaction, i.direction) for i in f.interactions)


def disputes_json(disputes: Disputes) -> dict[str, str]:
    """The audit form: ``{"p_t r_t": "too_high"}`` (ordered as SUBSCORE_NAMES)."""
    return dict(disputes)


def set_flag_disputes(f: Flag, disputes: Any) -> bool:
    """Give flag ``f`` exactly ``disputes`` (a mapping or pairs, see :func:`storage.records.disputes_of`);
    True when that changed anything. Rows are edited in place (never deleted and re-inserted
    under the same key). The caller flushes: a change bumps the flag's version then."""
    wanted = dict(disputes_of(disputes))
    current = {i.interaction: i for i in f.interactions}
    changed = False
    for name, row in current.items():
        if name not in wanted:
            f.interactions.remove(row)
            changed = True
        elif row.direction != wanted[name]:
            row.direction = wanted[name]
            changed = True
    for name in SUBSCORE_NAMES:
        if name in wanted and name not in current:
            f.interactions.append(FlagInteraction(interaction=name, direction=wanted[name]))
            changed = True
    if changed and inspect(f).persistent:
        flag_modified(f, "note")  # one UPDATE of the flag row: its version moves with its disputes
    return changed


def disputed_interactions(session: Session) -> dict[int, tuple[str, ...]]:
    """review_pk -> the interactions that its active (not undone) flags dispute, in
    SUBSCORE_NAMES order: what training leaves out of each subtask (engine.pseudolabels)."""
    q = (select(Flag.review_pk, FlagInteraction.interaction)
         .join(FlagInteraction, FlagInteraction.flag_id == Flag.id)
         .where(Flag.undone.is_(False)))
    found: dict[int, set[str]] = {}
    for rpk, name in session.execute(q):
        found.setdefault(rpk, set()).add(name)
    return {rpk: tuple(n for n in SUBSCORE_NAMES if n in names) for rpk, names in found.items()}


def dispute_counts(session: Session, model_version_id: Optional[int]) -> tuple[DisputeCount, ...]:
    """Per interaction (all five, in order), how many reviews the active flags made against
    ``model_version_id`` dispute, and how many of those say too high / too low (None: the flags
    made against no model). One GROUP BY."""
    q = (select(FlagInteraction.interaction, FlagInteraction.direction, func.count(func.distinct(Flag.review_pk)))
         .join(Flag, Flag.id == FlagInteraction.flag_id)
         .where(Flag.undone.is_(False))
         .group_by(FlagInteraction.interaction, FlagInteraction.direction))
    q = q.where(Flag.model_version_id.is_(None) if model_version_id is None else Flag.model_version_id == model_version_id)
    by: dict[tuple[str, str], int] = {(name, direction): n for name, direction, n in session.execute(q)}
    # a review disputed both ways (two active flags) counts once in "reviews"
    reviews_q = (select(FlagInteraction.interaction, func.count(func.distinct(Flag.review_pk)))
                 .join(Flag, Flag.id == FlagInteraction.flag_id)
                 .where(Flag.undone.is_(False)).group_by(FlagInteraction.interaction))
    reviews_q = reviews_q.where(Flag.model_version_id.is_(None) if model_version_id is None
                                else Flag.model_version_id == model_version_id)
    reviews = dict(session.execute(reviews_q).all())
    return tuple(DisputeCount(name, int(reviews.get(name, 0)), int(by.get((name, TOO_HIGH), 0)),
                              int(by.get((name, TOO_LOW), 0))) for name in SUBSCORE_NAMES)
