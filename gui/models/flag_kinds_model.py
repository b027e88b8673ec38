"""The flag kinds as a list: retired ones greyed and marked, renamed by editing a row."""
from __future__ import annotations

from typing import Any, Optional, Sequence

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QApplication

from storage.records import SUBSCORE_WRONG, FlagKindRecord

from .formatting import fmt_datetime
from .roles import KeyRole, RecordRole

Index = QModelIndex | QPersistentModelIndex
RETIRED_SUFFIX = " (retired)"


def built_in_source(kind: str) -> str:
    """What gives flags a built-in kind, in words."""
    return "disputing a sub-score (D, or right-click a sub-score bar)" if kind == SUBSCORE_WRONG \
        else "the corrected-label keys 0-4"


class FlagKindsModel(QAbstractListModel):
    """One row per kind, in the store's order.

    Editing a row does not change it here: it asks for the rename (``rename_requested``) and
    the row changes when the store has done it (:meth:`set_kinds`).

    Signals
    -------
    rename_requested(str, str)
        Old name, new name as typed.
    """

    rename_requested = Signal(str, str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._kinds: list[FlagKindRecord] = []

    def set_kinds(self, kinds: Optional[Sequence[FlagKindRecord]]) -> None:
        self.beginResetModel()
        self._kinds = list(kinds or ())
        self.endResetModel()

    def kind(self, row: int) -> Optional[FlagKindRecord]:
        return self._kinds[row] if 0 <= row < len(self._kinds) else None

    def row_of(self, name: str) -> Optional[int]:
        return next((i for i, k in enumerate(self._kinds) if k.name == name), None)

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._kinds)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        k = self.kind(index.row()) if index.isValid() else None
        if k is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return k.name + (RETIRED_SUFFIX if k.retired else "")
        if role == Qt.ItemDataRole.EditRole:
            return k.name
        if role == Qt.ItemDataRole.ForegroundRole and k.retired:
            return QApplication.palette().color(QPalette.ColorRole.PlaceholderText)
        if role == Qt.ItemDataRole.FontRole and k.retired:
            font = QFont()
            font.setItalic(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            if k.built_in:
                return f"Given by {built_in_source(k.name)}: it cannot be renamed or retired"
            if k.retired:
                return (f"Retired {fmt_datetime(k.retired_at)} UTC: flags that have it keep it; "
                        "it is not offered for new flags")
            return "Double-click or F2 to rename"
        if role == RecordRole:
            return k
        if role == KeyRole:
            return k.id
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        k = self.kind(index.row()) if index.isValid() else None
        return base | Qt.ItemFlag.ItemIsEditable if k is not None and not k.built_in else base

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        k = self.kind(index.row()) if index.isValid() else None
        if k is None or role != Qt.ItemDataRole.EditRole or not isinstance(value, str) or value.strip() == k.name:
            return False
        self.rename_requested.emit(k.name, value)
        return True
