"""A reason cell ("product images × review images +0.18") that elides the name, never the amount."""
from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem


class QtReasonDelegate(QStyledItemDelegate):
    """The text's last word (the signed amount) always shows; the name before it is cut to fit."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex) -> None:  # noqa: N802 (Qt's name)
        super().initStyleOption(option, index)
        name, _, amount = option.text.rpartition(" ")
        if not name:
            return
        fm = option.fontMetrics
        room = option.rect.width() - 10 - fm.horizontalAdvance(" " + amount)  # 10: the cell's own margins
        if fm.horizontalAdvance(option.text) > option.rect.width() - 10:
            option.text = f"{fm.elidedText(name, Qt.TextElideMode.ElideRight, max(room, 0))} {amount}"
