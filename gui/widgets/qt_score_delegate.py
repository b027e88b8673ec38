"""The score column's cells: a review being scored shows how far the job is (a thin bar and
its percent) where it says "not scored" otherwise."""
from __future__ import annotations

from PySide6.QtCore import QModelIndex, QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from ..models.roles import ProgressRole

TRACK = QColor(70, 130, 200, 45)
FILL = QColor(70, 130, 200, 150)


class QtScoreCellDelegate(QStyledItemDelegate):
    """``ProgressRole`` (a fraction, or -1 while the total is not known) draws a bar under the
    cell's text; the text is shortened to the percent when the column is too narrow for it."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        fraction = index.data(ProgressRole)
        if fraction is None:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text = opt.text
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        area = QRectF(opt.rect).adjusted(3, 2, -3, -2)
        track = QRectF(area.left(), area.bottom() - 4, area.width(), 3)
        painter.save()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(TRACK)
        painter.drawRect(track)
        if fraction >= 0:
            painter.setBrush(FILL)
            painter.drawRect(QRectF(track.left(), track.top(), track.width() * min(1.0, fraction), track.height()))
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        color = QColor(opt.palette.highlightedText().color() if selected else opt.palette.text().color())
        if not selected:
            color.setAlpha(150)
        painter.setPen(color)
        if painter.fontMetrics().horizontalAdvance(text) > area.width():
            text = f"{int(100 * fraction)}%" if fraction >= 0 else "\u2026"
        painter.drawText(area.adjusted(0, -2, 0, -3), int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                         text)
        painter.restore()
