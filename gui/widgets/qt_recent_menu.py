"""File > Open recent: the databases opened last, newest first."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMenu, QWidget

from ..settings import Settings


class QtRecentMenu(QMenu):
    """Signals
    -------
    open_requested(str)
        The URL of the database picked.
    """

    open_requested = Signal(str)

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__("Open &recent", parent)
        self._settings = settings
        self.refresh()

    def remember(self, url: str) -> None:
        self._settings.add_recent_database(url)
        self.refresh()

    def refresh(self) -> None:
        self.clear()
        for url in self._settings.recent_databases():
            action = self.addAction(url.removeprefix("sqlite:///"))
            action.triggered.connect(lambda _c=False, u=url: self.open_requested.emit(u))
        self.addSeparator()
        clear = self.addAction("Clear list")
        clear.triggered.connect(self._on_clear)

    def _on_clear(self) -> None:
        self._settings.clear_recent_databases()
        self.refresh()
