"""Undoable flag changes (QUndoStack commands).

Each command's jobs run, in order, on the store's one-thread write pool. A job reads what the
previous job of the same command committed (the flag it created and that flag's version), so
"flag, then undo at once" works even before the first job returned.

That memory is a :class:`FlagChain`, a plain object the commands share with their jobs; never
the QUndoCommand itself. A step is a pure function of the session and the chain: it runs inside
:meth:`storage.db.Database.run`, which may run it more than once, so it only returns what it
wrote, and :func:`run_step` records that in the chain after the transaction committed.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Optional

from PySide6.QtGui import QUndoCommand

from storage.db import Database
from storage.records import FlagRecord, dispute_words

from . import flag_ops
from .state.flag_draft import FlagDraft


@dataclass
class FlagChain:
    """What one command's committed jobs did so far (Qt-free; read and written only by the
    write pool thread, one job after another).

    ``versions`` is shared by all the commands of one undo stack: the version of each flag as
    this app last wrote it. Several commands may change one flag (two label keys on one review,
    then undo both), so a command's own record of the version is stale after another command's
    step; the optimistic check must only catch someone else's change.
    """

    flag: Optional[FlagRecord] = None
    outcome: Optional[flag_ops.CorrectionOutcome] = None
    versions: dict[int, int] = field(default_factory=dict)

    def expected_version(self) -> Optional[int]:
        if self.flag is None:
            return None
        return self.versions.get(self.flag.id, self.flag.version)


@dataclass(frozen=True)
class StepResult:
    """What a step committed: the flag as it is now, and for a correction what it replaced."""

    flag: FlagRecord
    outcome: Optional[flag_ops.CorrectionOutcome] = None


Step = Callable[..., Optional[StepResult]]


def run_step(db: Database, chain: FlagChain, step: Step, *args) -> Optional[FlagRecord]:
    """Write-pool job: ``step(session, chain, *args)`` in one transaction; once it committed,
    remember its flag (and outcome) in ``chain`` for the command's next job."""
    result = db.run(lambda session: step(session, chain, *args))
    if result is None:  # an earlier job of this command failed: nothing to take back or redo
        return None
    chain.flag = result.flag
    chain.versions[result.flag.id] = result.flag.version
    if result.outcome is not None:
        chain.outcome = result.outcome
    return result.flag


def rename_kind_in_chains(chains: Iterable, old: str, new: str) -> None:
    """A flag kind was renamed (with every flag that had it): what undo and redo put back
    names it by its new name. Runs on the write pool thread, after the rename committed."""
    def renamed(values: Optional[flag_ops.FlagValues]) -> Optional[flag_ops.FlagValues]:
        return replace(values, kind=new) if values is not None and values.kind == old else values

    for chain in chains:
        if hasattr(chain, "rename_kind"):  # a bulk command's (gui.bulk.BulkChain)
            chain.rename_kind(old, new)
        elif chain.outcome is not None:
            chain.outcome = replace(chain.outcome, before=renamed(chain.outcome.before), after=renamed(chain.outcome.after))


# ------------------------------------------------------------------------- steps (no Qt)


def undo_step(session, chain: FlagChain, author: str) -> Optional[StepResult]:
    if chain.flag is None:
        return None
    return StepResult(flag_ops.undo_flag(session, chain.flag.id, author, chain.expected_version()))


def redo_step(session, chain: FlagChain, author: str) -> Optional[StepResult]:
    if chain.flag is None:
        return None
    return StepResult(flag_ops.redo_flag(session, chain.flag.id, author, chain.expected_version()))


def save_step(session, chain: FlagChain, review_pk: int, draft: FlagDraft, author: str, model_version_id: Optional[int],
              seen: Optional[tuple[int, int]] = None) -> StepResult:
    outcome = flag_ops.save_flag(session, review_pk, draft, author, model_version_id, seen, chain.versions)
    return StepResult(outcome.flag, outcome)


def dispute_step(session, chain: FlagChain, review_pk: int, interaction: str, direction: Optional[str], author: str,
                 model_version_id: Optional[int]) -> StepResult:
    outcome = flag_ops.apply_dispute(session, review_pk, interaction, direction, author, model_version_id)
    return StepResult(outcome.flag, outcome)


def correct_step(session, chain: FlagChain, review_pk: int, label: int, author: str,
                 model_version_id: Optional[int]) -> StepResult:
    outcome = flag_ops.apply_correction(session, review_pk, label, author, model_version_id)
    return StepResult(outcome.flag, outcome)


def take_back_step(session, chain: FlagChain, author: str) -> Optional[StepResult]:
    """Undo of a correction: a created flag is undone, an edited one gets its old values back."""
    return _correction_side(session, chain, author, undo_step, "before", "undo")


def reapply_step(session, chain: FlagChain, author: str) -> Optional[StepResult]:
    """Redo of a correction: a created flag is redone, an edited one gets the new values again."""
    return _correction_side(session, chain, author, redo_step, "after", "redo")


def _correction_side(session, chain: FlagChain, author: str, if_created: Step, side: str,
                     cause: str) -> Optional[StepResult]:
    if chain.outcome is None or chain.flag is None:
        return None
    if chain.outcome.created:
        return if_created(session, chain, author)
    if chain.outcome.withdrew:  # the inverse: undo restores the withdrawn flag, redo withdraws it again
        return (redo_step if side == "before" else undo_step)(session, chain, author)
    values = getattr(chain.outcome, side)
    return StepResult(flag_ops.set_flag_values(session, chain.flag.id, values, author, chain.expected_version(), cause))


# ------------------------------------------------------------------------- commands


class FlagCommand(QUndoCommand):
    """Base class: submits steps over its :class:`FlagChain` to the controller's write queue."""

    def __init__(self, controller, review_pk: int, text: str) -> None:
        super().__init__(text)
        self._controller = controller
        self.review_pk = review_pk
        self.chain = FlagChain(versions=controller.flag_versions)
        self._started = False

    @property
    def author(self) -> str:
        return self._controller.author

    def _submit(self, step: Step, *args) -> None:
        self._controller.submit(self.review_pk, self.chain, step, *args)


class SaveFlagCommand(FlagCommand):
    """Save the flag dialog: edits the review's active flag, or creates one. Undo takes back
    exactly that (the old values, or the new flag withdrawn); redo applies it again."""

    def __init__(self, controller, review_pk: int, draft: FlagDraft, model_version_id: Optional[int],
                 seen: Optional[tuple[int, int]] = None) -> None:
        verb = "Edit flag" if seen is not None else "Flag"
        super().__init__(controller, review_pk, f"{verb} on review #{review_pk} ({draft.kind})")
        self.draft = draft
        self.model_version_id = model_version_id
        self.seen = seen

    def redo(self) -> None:
        if not self._started:
            self._started = True
            self._submit(save_step, self.review_pk, self.draft, self.author, self.model_version_id, self.seen)
        else:
            self._submit(reapply_step, self.author)

    def undo(self) -> None:
        self._submit(take_back_step, self.author)


class SetLabelCommand(FlagCommand):
    """Set a corrected label (keys 0-4): edits the review's active flag or creates one."""

    def __init__(self, controller, review_pk: int, label: int, model_version_id: Optional[int]) -> None:
        super().__init__(controller, review_pk, f"Set label {label} on review #{review_pk}")
        self.label = label
        self.model_version_id = model_version_id

    def redo(self) -> None:
        if not self._started:
            self._started = True
            self._submit(correct_step, self.review_pk, self.label, self.author, self.model_version_id)
        else:
            self._submit(reapply_step, self.author)

    def undo(self) -> None:
        self._submit(take_back_step, self.author)


class DisputeCommand(FlagCommand):
    """Dispute one sub-score of a review as too high or too low, or clear its dispute
    (``direction`` None): see :func:`gui.flag_ops.apply_dispute`. Undo takes back exactly that."""

    def __init__(self, controller, review_pk: int, interaction: str, direction: Optional[str],
                 model_version_id: Optional[int]) -> None:
        what = dispute_words(interaction, direction) if direction else f"clear the dispute of {interaction}"
        super().__init__(controller, review_pk, f"{what[0].upper()}{what[1:]} on review #{review_pk}")
        self.interaction = interaction
        self.direction = direction
        self.model_version_id = model_version_id

    def redo(self) -> None:
        if not self._started:
            self._started = True
            self._submit(dispute_step, self.review_pk, self.interaction, self.direction, self.author,
                         self.model_version_id)
        else:
            self._submit(reapply_step, self.author)

    def undo(self) -> None:
        self._submit(take_back_step, self.author)
