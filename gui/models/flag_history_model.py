"""Every flag a review ever had, including undone ones (the detail pane's history)."""
from __future__ import annotations

from typing import Any, Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from storage.records import FlagRecord, dispute_words

from .formatting import fmt_datetime, plain_tooltip
from .record_table import RecordTableModel
from .roles import KeyRole, RecordRole

Index = QModelIndex | QPersistentModelIndex
_COLUMNS = ("When (UTC)", "Who", "Kind", "Label", "Note", "State")


def kind_text(f: FlagRecord) -> str:
    """The flag's kind, with the sub-scores it disputes: "sub-score wrong (p_t r_t is too high)"."""
    if not f.interactions:
        return f.kind
    return f"{f.kind} ({'; '.join(dispute_words(name, direction) for name, direction in f.interactions)})"


def flag_state(f: FlagRecord) -> str:
    if f.undone:
        return "undone"
    return f.resolution or "active"


class FlagHistoryModel(RecordTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._flags: list[FlagRecord] = []

    def set_flags(self, flags: Sequence[FlagRecord]) -> None:
        self.beginResetModel()
        self._flags = sorted(flags, key=lambda f: f.id, reverse=True)
        self.endResetModel()

    COLUMNS = _COLUMNS

    def _records(self):
        return self._flags

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._flags):
            return None
        f = self._flags[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            label = "" if f.corrected_label is None else str(f.corrected_label)
            text = (fmt_datetime(f.created_at), f.author, kind_text(f), label, f.note, flag_state(f))[index.column()]
            return text if role == Qt.ItemDataRole.DisplayRole else plain_tooltip(text)
        if role == Qt.ItemDataRole.FontRole and f.undone:
            font = QFont()
            font.setStrikeOut(True)
            return font
        if role == RecordRole:
            return f
        if role == KeyRole:
            return f.id
        return None
