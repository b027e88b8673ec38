"""Write jobs behind the flag commands (no Qt): each runs in one transaction in a worker."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from sqlalchemy.orm import Session

from storage import repository as repo
from storage.records import FlagRecord

from .state.flag_draft import FlagDraft
from storage.ranking import MODEL_TOO_HIGH, MODEL_TOO_LOW, RankInput, correction_kind
from storage.records import SUBSCORE_WRONG, Disputes

_MODEL_KINDS = (MODEL_TOO_HIGH, MODEL_TOO_LOW)


@dataclass(frozen=True)
class FlagValues:
    kind: str
    corrected_label: Optional[int]
    note: str
    interactions: Disputes = ()

    @classmethod
    def of(cls, flag: FlagRecord) -> "FlagValues":
        return cls(flag.kind, flag.corrected_label, flag.note, flag.interactions)


@dataclass(frozen=True)
class CorrectionOutcome:
    """What :func:`apply_correction`, :func:`save_flag` or :func:`apply_dispute` did, so that
    undo can take it back.

    ``before`` is None when a new flag was created, else the edited flag's old values.
    ``withdrew``: the flag was withdrawn (its last dispute cleared), not edited; undo restores it.
    """

    flag: FlagRecord
    before: Optional[FlagValues]
    after: FlagValues
    withdrew: bool = False

    @property
    def created(self) -> bool:
        return self.before is None


def save_flag(
    session: Session, review_pk: int, draft: FlagDraft, author: str, model_version_id: Optional[int],
    seen: Optional[tuple[int, int]] = None, own_versions: Optional[dict[int, int]] = None,
) -> CorrectionOutcome:
    """The flag dialog's save: a review has at most one active flag, so this edits it when
    there is one and creates one otherwise.

    ``seen`` is the (flag id, version) the dialog was filled from, if any: when the active flag
    has changed since, by someone other than this app (``own_versions``: the version of each
    flag as this app last wrote it), the save is refused with ConflictError naming who changed
    it, rather than overwriting what the moderator never saw."""
    draft = draft.validated()
    current = repo.active_flag(session, review_pk)
    if current is None:
        flag = repo.add_flag(session, review_pk, draft.kind, author, draft.corrected_label, draft.note, model_version_id,
                             draft.interactions)
        return CorrectionOutcome(flag, None, FlagValues.of(flag))
    expected = current.version
    if seen is not None and seen[0] == current.id and seen[1] != current.version:
        if (own_versions or {}).get(current.id) != current.version:
            expected = seen[1]  # someone else's change: edit_flag raises the conflict that names them
    before = FlagValues.of(current)
    flag = repo.edit_flag(session, current.id, author, expected, kind=draft.kind, corrected_label=draft.corrected_label,
                          note=draft.note, interactions=draft.interactions)
    return CorrectionOutcome(flag, before, FlagValues.of(flag))


def apply_correction(
    session: Session, review_pk: int, label: int, author: str, model_version_id: Optional[int]
) -> CorrectionOutcome:
    """Set a review's corrected label: update its active flag, or create a
    "model too high" / "model too low" flag, whichever the model's ranking calls for."""
    items = [RankInput(*r) for r in repo.product_rank_inputs(session, _product_of(session, review_pk), model_version_id)]
    kind = correction_kind(items, review_pk, label)
    current = repo.active_flag(session, review_pk)
    if current is None:
        flag = repo.add_flag(session, review_pk, kind, author, label, "", model_version_id)
        return CorrectionOutcome(flag, None, FlagValues.of(flag))
    before = FlagValues.of(current)
    # A content flag (spam, off-topic...) keeps its kind; only the model-disagreement kind follows the label.
    new_kind = kind if current.kind in _MODEL_KINDS else current.kind
    flag = repo.edit_flag(session, current.id, author, current.version, kind=new_kind, corrected_label=label)
    return CorrectionOutcome(flag, before, FlagValues.of(flag))


def set_flag_values(
    session: Session, flag_id: int, values: FlagValues, author: str, expected_version: int, cause: str = ""
) -> FlagRecord:
    """Undo and redo: give a flag ``values`` it had, even a kind retired since; ``cause``
    ("undo", "redo") is what the audit log says it was."""
    return repo.edit_flag(
        session, flag_id, author, expected_version, kind=values.kind, corrected_label=values.corrected_label,
        note=values.note, cause=cause, allow_retired=True, interactions=values.interactions,
    )


def apply_dispute(
    session: Session, review_pk: int, interaction: str, direction: Optional[str], author: str,
    model_version_id: Optional[int],
) -> CorrectionOutcome:
    """Dispute one sub-score of a review ("p_t r_t", "too_high"), or clear its dispute (``direction``
    None). The review's active flag gets it (its other disputes, kind, label and note stay);
    a review without one gets a new "sub-score wrong" flag. Clearing the last dispute of a
    "sub-score wrong" flag withdraws the flag (it has nothing left to say), as undo would."""
    current = repo.active_flag(session, review_pk)
    if direction is None:
        disputes = dict(current.interactions) if current is not None else {}
        if interaction not in disputes:
            raise ValueError(f"{interaction} is not disputed on this review (someone may have cleared it: reload)")
        del disputes[interaction]
        before = FlagValues.of(current)
        if not disputes and current.kind == SUBSCORE_WRONG:
            flag = repo.undo_flag(session, current.id, author, current.version)
            return CorrectionOutcome(flag, before, before, withdrew=True)
        flag = repo.edit_flag(session, current.id, author, current.version, interactions=disputes)
        return CorrectionOutcome(flag, before, FlagValues.of(flag))
    if current is None:
        flag = repo.add_flag(session, review_pk, SUBSCORE_WRONG, author, None, "", model_version_id,
                             {interaction: direction})
        return CorrectionOutcome(flag, None, FlagValues.of(flag))
    before = FlagValues.of(current)
    flag = repo.edit_flag(session, current.id, author, current.version,
                          interactions={**dict(current.interactions), interaction: direction})
    return CorrectionOutcome(flag, before, FlagValues.of(flag))


def undo_flag(session: Session, flag_id: int, author: str, expected_version: Optional[int]) -> FlagRecord:
    return repo.undo_flag(session, flag_id, author, expected_version)


def redo_flag(session: Session, flag_id: int, author: str, expected_version: Optional[int]) -> FlagRecord:
    return repo.redo_flag(session, flag_id, author, expected_version)


def _product_of(session: Session, review_pk: int) -> int:
    rows = repo.review_rows_by_pks(session, [review_pk], None)
    if not rows:
        raise repo.NotFoundError(f"no review #{review_pk}")
    return rows[0].product_pk
