"""The open store's flag kinds: loaded when a database opens, changed on the write pool.

:class:`QtFlagKinds` keeps :class:`~gui.state.flag_kinds.FlagKindsState` in step with the
store; the flag dialog offers ``state.offered(...)`` and the kinds dialog edits through it.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, Signal
from sqlalchemy.orm import Session

from storage import repository as repo
from storage.db import Database
from storage.records import FlagKindRecord

from .commands import rename_kind_in_chains
from .state.app_state import AppState
from .state.flag_kinds import FlagKindsState
from .store import Store


def load_flag_kinds(session: Session) -> list[FlagKindRecord]:
    return repo.list_flag_kinds(session, include_retired=True)


def _change_then_list(session: Session, change: Callable[..., Any], *args) -> list[FlagKindRecord]:
    change(session, *args)
    return load_flag_kinds(session)


def _rename(session: Session, name: str, new_name: str, author: str) -> tuple[str, list[FlagKindRecord]]:
    return repo.rename_flag_kind(session, name, new_name, author).name, load_flag_kinds(session)


def _rename_job(db: Database, name: str, new_name: str, author: str,
                chains: list) -> tuple[str, list[FlagKindRecord]]:
    """Write-pool job: rename in one transaction, then let the undo stack's commands put back
    the new name (they run on this same thread, after this job). Returns the name as stored."""
    stored, kinds = db.run(lambda session: _rename(session, name, new_name, author))
    if stored != name:
        rename_kind_in_chains(chains, name, stored)
    return stored, kinds


class QtFlagKinds(QObject):
    """Loads and changes the flag kinds of the open database.

    Signals
    -------
    changed()
        A change went through; ``state.kinds`` holds the new list.
    renamed(str, str)
        A kind was renamed, and with it every flag that had it: old name, new name.
    """

    changed = Signal()
    renamed = Signal(str, str)

    def __init__(self, store: Store, app_state: AppState, chains: Callable[[], list] = list,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._app = app_state
        self._chains = chains
        self.state = FlagKindsState()
        self._generation = 0
        store.opened.connect(self._on_database_opened)

    def _on_database_opened(self, _db) -> None:
        self.state.kinds = None  # the old database's kinds name nothing here
        self.state.error = ""
        self.reload()

    def reload(self) -> None:
        """Read the kinds again (another moderator may have changed them)."""
        self._generation += 1
        gen = self._generation
        self._store.call(load_flag_kinds, on_result=lambda kinds: self._on_loaded(gen, kinds),
                         on_error=self._on_failed)

    def _on_loaded(self, gen: int, kinds: list[FlagKindRecord]) -> None:
        if gen == self._generation:  # a later read or write answered first: it is newer
            self.state.kinds = kinds

    # ---------------------------------------------------------------- changes

    def add(self, name: str) -> None:
        self._write(repo.add_flag_kind, name)

    def retire(self, name: str) -> None:
        self._write(repo.retire_flag_kind, name)

    def restore(self, name: str) -> None:
        self._write(repo.restore_flag_kind, name)

    def move(self, name: str, offset: int) -> None:
        self._write(repo.move_flag_kind, name, offset)

    def rename(self, name: str, new_name: str) -> None:
        db = self._store.db
        if db is None:
            return
        gen = self._bump()
        self._store.run(_rename_job, db, name, new_name, self._app.user_name, self._chains(), write=True,
                        on_result=lambda done: self._on_written(gen, done[1], (name, done[0])),
                        on_error=self._on_failed)

    def _write(self, change: Callable[..., Any], *args) -> None:
        gen = self._bump()
        self._store.call(_change_then_list, change, *args, self._app.user_name, write=True,
                         on_result=lambda kinds: self._on_written(gen, kinds), on_error=self._on_failed)

    def _bump(self) -> int:
        self._generation += 1
        return self._generation

    def _on_written(self, gen: int, kinds: list[FlagKindRecord], renamed: Optional[tuple[str, str]] = None) -> None:
        self.state.error = ""
        if renamed is not None and renamed[0] != renamed[1]:
            # Before the list changes: whoever shows the old name takes the new one first.
            self.renamed.emit(*renamed)
        if gen == self._generation:
            self.state.kinds = kinds
        self.changed.emit()

    def _on_failed(self, exc: BaseException) -> None:
        self.state.error = ""  # so that the same refusal twice is told twice
        self.state.error = str(exc) or type(exc).__name__
        self.reload()  # show what the store holds now
