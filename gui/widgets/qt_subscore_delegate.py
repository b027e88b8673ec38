"""Draws a sub-score as a compact bar in its cell, the number beside it."""
from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from ..models.roles import RangeRole, ValueRole

BAR_COLOR = QColor(70, 130, 200, 110)
NEGATIVE_COLOR = QColor(215, 120, 55, 110)


def bar_extent(value: float, low: float, high: float) -> tuple[float, float]:
    """Start and end of the bar as fractions of the cell width; the bar grows from
    zero (or from ``low`` when every value is positive)."""
    low, high = min(low, 0.0), max(high, 0.0)
    span = (high - low) or 1.0
    zero = (0.0 - low) / span
    pos = (value - low) / span
    return (min(zero, pos), max(zero, pos))


class QtSubScoreBarDelegate(QStyledItemDelegate):
    """Bar of ``ValueRole`` against ``RangeRole`` (the product's sub-score range)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        value = index.data(ValueRole)
        rng = index.data(RangeRole)
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text = opt.text
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        if value is None:
            return
        low, high = rng if rng else (min(0.0, value), max(1.0, value))
        start, end = bar_extent(float(value), float(low), float(high))
        area = QRectF(opt.rect).adjusted(3, 4, -3, -4)
        bar = QRectF(area.left() + start * area.width(), area.top(), max(1.5, (end - start) * area.width()), area.height())
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(NEGATIVE_COLOR if value < 0 else BAR_COLOR)
        painter.drawRoundedRect(bar, 2, 2)
        if low < 0 < high:  # a hairline at zero, so signs read at a glance
            zero_x = area.left() + bar_extent(0.0, low, high)[0] * area.width()
            axis = QColor(opt.palette.text().color())
            axis.setAlpha(90)
            painter.setPen(axis)
            painter.drawLine(QPointF(zero_x, area.top() - 1), QPointF(zero_x, area.bottom() + 1))
        painter.setPen(opt.palette.highlightedText().color() if selected else opt.palette.text().color())
        font = painter.font()
        font.setPointSizeF(max(6.5, font.pointSizeF() * 0.85))
        painter.setFont(font)
        if area.width() >= 56:
            painter.drawText(area.adjusted(0, -2, -1, 2), int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), text)
        elif area.width() >= 30:  # a narrow column: one decimal (the tooltip has four)
            painter.drawText(area.adjusted(0, -2, -1, 2), int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                             f"{float(value):.1f}")
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex):
        hint = super().sizeHint(option, index)
        hint.setWidth(max(hint.width(), 46))
        return hint
