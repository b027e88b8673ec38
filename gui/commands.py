"""Undoable flag changes (QUndoStack commands).

Each command's jobs run, in order, on the store's one-thread write pool. A job reads
what the previous job of the same command stored (the flag it created and that flag's
version), so "flag, then undo at once" works even before the first job returned.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtGui import QUndoCommand

from storage.records import FlagRecord

from . import qt_compat  # noqa: F401  (before any call into Qt: see the module)
from . import flag_ops
from .state.flag_draft import FlagDraft


class FlagCommand(QUndoCommand):
    """Base class: runs ``job(session)`` on the write pool and reports the review changed."""

    def __init__(self, controller, review_pk: int, text: str) -> None:
        super().__init__(text)
        self._controller = controller
        self.review_pk = review_pk
        self.flag: Optional[FlagRecord] = None  # set by the jobs, in the worker thread
        self._started = False

    @property
    def author(self) -> str:
        return self._controller.author

    def _submit(self, job) -> None:
        self._controller.submit(self.review_pk, job)

    def _undo_flag(self, session):
        if self.flag is None:  # the first job failed: nothing to take back
            return None
        self.flag = flag_ops.undo_flag(session, self.flag.id, self.author, self.flag.version)
        return self.flag

    def _redo_flag(self, session):
        if self.flag is None:
            return None
        self.flag = flag_ops.redo_flag(session, self.flag.id, self.author, self.flag.version)
        return self.flag


class AddFlagCommand(FlagCommand):
    """Flag a review (the flag dialog). Undo marks the flag undone; redo restores it."""

    def __init__(self, controller, review_pk: int, draft: FlagDraft, model_version_id: Optional[int]) -> None:
        super().__init__(controller, review_pk, f"Flag review #{review_pk} ({draft.kind})")
        self.draft = draft
        self.model_version_id = model_version_id

    def redo(self) -> None:
        if not self._started:
            self._started = True
            self._submit(self._add)
        else:
            self._submit(self._redo_flag)

    def undo(self) -> None:
        self._submit(self._undo_flag)

    def _add(self, session):
        self.flag = flag_ops.add_flag(session, self.review_pk, self.draft, self.author, self.model_version_id)
        return self.flag


class SetLabelCommand(FlagCommand):
    """Set a corrected label (keys 0-4): edits the review's active flag or creates one."""

    def __init__(self, controller, review_pk: int, label: int, model_version_id: Optional[int]) -> None:
        super().__init__(controller, review_pk, f"Set label {label} on review #{review_pk}")
        self.label = label
        self.model_version_id = model_version_id
        self.outcome: Optional[flag_ops.CorrectionOutcome] = None

    def redo(self) -> None:
        if not self._started:
            self._started = True
            self._submit(self._apply)
        else:
            self._submit(self._reapply)

    def undo(self) -> None:
        self._submit(self._take_back)

    def _apply(self, session):
        self.outcome = flag_ops.apply_correction(session, self.review_pk, self.label, self.author, self.model_version_id)
        self.flag = self.outcome.flag
        return self.flag

    def _take_back(self, session):
        if self.outcome is None:
            return None
        if self.outcome.created:
            return self._undo_flag(session)
        self.flag = flag_ops.set_flag_values(session, self.flag.id, self.outcome.before, self.author, self.flag.version)
        return self.flag

    def _reapply(self, session):
        if self.outcome is None:
            return None
        if self.outcome.created:
            return self._redo_flag(session)
        self.flag = flag_ops.set_flag_values(session, self.flag.id, self.outcome.after, self.author, self.flag.version)
        return self.flag
