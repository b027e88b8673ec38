"""Keyboard triage and flagging: turns keys and dialog results into undoable commands."""
from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from . import qt_compat  # noqa: F401  (before any call into Qt: see the module)
from .commands import AddFlagCommand, SetLabelCommand
from .state.app_state import AppState
from .state.flag_draft import FlagDraft
from .store import Store


class QtTriageController(QObject):
    """Owns the undo stack of flag changes.

    Signals
    -------
    flag_changed(int)
        A flag of this review was written (added, edited, undone, redone).
    """

    flag_changed = Signal(int)

    def __init__(self, store: Store, app_state: AppState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._app = app_state
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(500)
        store.opened.connect(lambda _db: self.undo_stack.clear())  # commands name rows of the old database

    @property
    def author(self) -> str:
        return self._app.user_name

    def submit(self, review_pk: int, job: Callable) -> None:
        self._store.call(job, write=True, on_result=lambda _flag: self.flag_changed.emit(review_pk),
                         on_error=lambda exc: self._on_failed(review_pk, exc))

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

    def add_flag(self, draft: FlagDraft, review_pk: Optional[int] = None) -> bool:
        pk = self._app.current_review_pk if review_pk is None else review_pk
        if pk is None or self._store.db is None:
            return False
        self.undo_stack.push(AddFlagCommand(self, pk, draft.validated(), self._app.model_version_id))
        return True

    def undo(self) -> None:
        self.undo_stack.undo()

    def redo(self) -> None:
        self.undo_stack.redo()
