"""The audit log: who did what to what, newest first, in words (:mod:`.audit_text`);
a proxy filters it by text."""
from __future__ import annotations

from typing import Any, Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt

from storage.records import AuditRecord

from .audit_text import AuditLine, audit_line, search_text
from .formatting import plain_tooltip
from .record_table import RecordTableModel
from .roles import KeyRole, RecordRole, SearchRole

Index = QModelIndex | QPersistentModelIndex
_COLUMNS = ("When (UTC)", "Who", "Action", "Target", "Details")
ACTION_COLUMN, TARGET_COLUMN, DETAILS_COLUMN = 2, 3, 4


class AuditLogModel(RecordTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._events: list[AuditRecord] = []
        self._lines: list[AuditLine] = []
        self._search: list[str] = []

    def set_events(self, events: Sequence[AuditRecord]) -> None:
        self.beginResetModel()
        self._events = list(events)
        self._lines = [audit_line(e) for e in self._events]
        self._search = [search_text(e, line).casefold() for e, line in zip(self._events, self._lines)]
        self.endResetModel()

    COLUMNS = _COLUMNS

    def _records(self):
        return self._events

    def line(self, row: int) -> AuditLine:
        return self._lines[row]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._events):
            return None
        row, col = index.row(), index.column()
        line = self._lines[row]
        if role == Qt.ItemDataRole.DisplayRole:
            return line.columns[col]
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = {ACTION_COLUMN: line.action_tip, TARGET_COLUMN: line.target_tip,
                   DETAILS_COLUMN: line.details_tip}.get(col, line.columns[col])
            return plain_tooltip(tip)
        if role == SearchRole:
            return self._search[row]
        if role == RecordRole:
            return self._events[row]
        if role == KeyRole:
            return self._events[row].id
        return None


class AuditFilterProxy(QSortFilterProxyModel):
    """Case-insensitive text filter over what a row shows and the ids behind it (review id,
    product id and title, the action's stored name)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)
        self._needle = ""

    def setFilterFixedString(self, pattern: str) -> None:  # noqa: N802 (Qt's name)
        self._needle = (pattern or "").strip().casefold()
        super().setFilterFixedString(pattern)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:  # noqa: N802
        if not self._needle:
            return True
        model = self.sourceModel()
        text = model.index(source_row, 0, source_parent).data(SearchRole)
        if text is None:
            return super().filterAcceptsRow(source_row, source_parent)
        return self._needle in text
