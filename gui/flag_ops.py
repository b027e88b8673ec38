"""Write jobs behind the flag commands (no Qt): each runs in one transaction in a worker."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from sqlalchemy.orm import Session

from storage import repository as repo
from storage.records import FlagRecord

from .state.flag_draft import FlagDraft
from storage.ranking import MODEL_TOO_HIGH, MODEL_TOO_LOW, RankInput, correction_kind

_MODEL_KINDS = (MODEL_TOO_HIGH, MODEL_TOO_LOW)


@dataclass(frozen=True)
class FlagValues:
    kind: str
    corrected_label: Optional[int]
    note: str

    @classmethod
    def of(cls, flag: FlagRecord) -> "FlagValues":
        return cls(flag.kind, flag.corrected_label, flag.note)


@dataclass(frozen=True)
class CorrectionOutcome:
    """What :func:`apply_correction` did, so that undo can take it back.

    ``before`` is None when a new flag was created, else the edited flag's old values.
    """

    flag: FlagRecord
    before: Optional[FlagValues]
    after: FlagValues

    @property
    def created(self) -> bool:
        return self.before is None


def add_flag(session: Session, review_pk: int, draft: FlagDraft, author: str, model_version_id: Optional[int]) -> FlagRecord:
    draft = draft.validated()
    return repo.add_flag(session, review_pk, draft.kind, author, draft.corrected_label, draft.note, model_version_id)


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


def set_flag_values(session: Session, flag_id: int, values: FlagValues, author: str, expected_version: int) -> FlagRecord:
    return repo.edit_flag(
        session, flag_id, author, expected_version, kind=values.kind, corrected_label=values.corrected_label, note=values.note
    )


def undo_flag(session: Session, flag_id: int, author: str, expected_version: Optional[int]) -> FlagRecord:
    return repo.undo_flag(session, flag_id, author, expected_version)


def redo_flag(session: Session, flag_id: int, author: str, expected_version: Optional[int]) -> FlagRecord:
    return repo.redo_flag(session, flag_id, author, expected_version)


def _product_of(session: Session, review_pk: int) -> int:
    rows = repo.review_rows_by_pks(session, [review_pk], None)
    if not rows:
        raise repo.NotFoundError(f"no review #{review_pk}")
    return rows[0].product_pk
