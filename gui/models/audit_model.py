"""The audit log: who did what to what, newest first; a proxy filters it by text."""
from __future__ import annotations

import json
from typing import Any, Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt

from storage.records import AuditRecord

from .formatting import fmt_datetime, plain_tooltip
from .record_table import RecordTableModel
from .roles import KeyRole, RecordRole

Index = QModelIndex | QPersistentModelIndex
_COLUMNS = ("When (UTC)", "Who", "Action", "Target", "Details")


class AuditLogModel(RecordTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._events: list[AuditRecord] = []

    def set_events(self, events: Sequence[AuditRecord]) -> None:
        self.beginResetModel()
        self._events = list(events)
        self.endResetModel()

    COLUMNS = _COLUMNS

    def _records(self):
        return self._events

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._events):
            return None
        e = self._events[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            details = json.dumps(e.details, ensure_ascii=False, default=str, sort_keys=True)
            text = (fmt_datetime(e.at), e.actor, e.action, f"{e.target_kind} {e.target_id}".strip(), details)[index.column()]
            return text if role == Qt.ItemDataRole.DisplayRole else plain_tooltip(text)
        if role == RecordRole:
            return e
        if role == KeyRole:
            return e.id
        return None


class AuditFilterProxy(QSortFilterProxyModel):
    """Case-insensitive text filter over all columns."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)
