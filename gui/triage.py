"""Keyboard triage and flagging: turns keys and dialog results into undoable commands."""
from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from .bulk import BulkDraft, BulkFlagCommand, BulkResult, BulkTarget
from .commands import DisputeCommand, FlagChain, FlagCommand, SaveFlagCommand, SetLabelCommand, run_step
from .state.app_state import AppState
from .state.flag_draft import FlagDraft
from .store import Store


class QtTriageController(QObject):
    """Owns the undo stack of flag changes.

    Signals
    -------
    flag_changed(int)
        A flag of this review was written (added, edited, undone, redone).
    bulk_changed(object)
        A bulk flag, its undo or its redo was written (or failed): a :class:`gui.bulk.BulkResult`.
    """

    flag_changed = Signal(int)
    bulk_changed = Signal(object)

    def __init__(self, store: Store, app_state: AppState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._app = app_state
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(500)
        # Version of each flag as this window last wrote it (read and written by the write pool's
        # one thread only, in order: see gui.commands.FlagChain).
        self.flag_versions: dict[int, int] = {}
        store.opened.connect(self._on_database_opened)

    def _on_database_opened(self, _db) -> None:
        self.undo_stack.clear()  # commands name rows of the old database
        self.flag_versions = {}

    @property
    def author(self) -> str:
        return self._app.user_name

    def chains(self) -> list:
        """The chains of the commands on the undo stack (handed to write-pool jobs that must
        keep them in step with the store, e.g. a renamed flag kind): FlagChain and BulkChain."""
        commands = (self.undo_stack.command(i) for i in range(self.undo_stack.count()))
        return [c.chain for c in commands if isinstance(c, (FlagCommand, BulkFlagCommand))]

    def submit(self, review_pk: int, chain: FlagChain, step: Callable, *args) -> None:
        """Queue ``step`` of a command on the write pool (see :mod:`gui.commands`)."""
        db = self._store.db
        if db is None:
            return
        self._store.run(run_step, db, chain, step, *args, write=True,
                        on_result=lambda _flag: self.flag_changed.emit(review_pk),
                        on_error=lambda exc: self._on_failed(review_pk, exc))

    def submit_bulk(self, job: Callable, *args) -> None:
        """Queue a bulk command's job (:mod:`gui.bulk`) on the write pool."""
        db = self._store.db
        if db is None:
            return
        self._store.run(job, db, *args, write=True, on_result=self._on_bulk_written, on_error=self._on_bulk_failed)

    def _on_bulk_written(self, result: Optional[BulkResult]) -> None:
        if result is None:
            return  # the batch had failed: its undo or redo had nothing to do
        self.bulk_changed.emit(result)  # first: the window shows what changed behind the message
        if result.conflicts:
            self._store.failed.emit("Some flags were left as they are", result.conflict_text)

    def _on_bulk_failed(self, exc: Exception) -> None:
        self._store.failed.emit("Could not save the flags", str(exc))
        self.bulk_changed.emit(BulkResult(None))  # show what the store holds now

    def _on_failed(self, review_pk: int, exc: Exception) -> None:
        self._store.failed.emit("Could not save the flag", str(exc))
        self.flag_changed.emit(review_pk)  # show what the store holds now

    def set_label(self, label: int, review_pk: Optional[int] = None) -> bool:
        """Keys 0-4: set the corrected label of the current review."""
        pk = self._app.current_review_pk if review_pk is None else review_pk
        if pk is None or self._store.db is None:
            return False
        self.undo_stack.push(SetLabelCommand(self, pk, label, self._app.model_version_id))
        return True

    def save_flag(self, draft: FlagDraft, review_pk: Optional[int] = None, seen: Optional[tuple[int, int]] = None) -> bool:
        """The flag dialog's result: edit the review's active flag (``seen``: the id and
        version the dialog showed) or create one."""
        pk = self._app.current_review_pk if review_pk is None else review_pk
        if pk is None or self._store.db is None:
            return False
        self.undo_stack.push(SaveFlagCommand(self, pk, draft.validated(), self._app.model_version_id, seen))
        return True

    def dispute(self, interaction: str, direction: Optional[str], review_pk: Optional[int] = None) -> bool:
        """Dispute a sub-score of the current review as "too_high" / "too_low", or clear its
        dispute (``direction`` None): one undo step."""
        pk = self._app.current_review_pk if review_pk is None else review_pk
        if pk is None or self._store.db is None:
            return False
        self.undo_stack.push(DisputeCommand(self, pk, interaction, direction, self._app.model_version_id))
        return True

    def apply_bulk(self, target: BulkTarget, draft: BulkDraft, scope: str = "", count: Optional[int] = None) -> bool:
        """Flag every review of ``target`` as ``draft`` says, as one undo step (``scope``: the
        target in words, for the audit log; ``count``: the previewed number, for the Edit menu)."""
        if self._store.db is None:
            return False
        self.undo_stack.push(BulkFlagCommand(self, target, draft.validated(), self._app.model_version_id,
                                             scope or target.describe(), count))
        return True

    def undo(self) -> None:
        self.undo_stack.undo()

    def redo(self) -> None:
        self.undo_stack.redo()
