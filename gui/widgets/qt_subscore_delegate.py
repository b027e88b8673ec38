"""Draws a sub-score in its cell on the fixed 0-4 label scale (gui/state/subscores.py).

A thin bar from 0 to the value, the number over it; behind the bar, a faint band over the
product's 10th-90th percentile, as thin as the product's spread is (a flat sub-score shows a
hairline, not a stretched axis); a small triangle at an end where the value goes past 0 or 4.
An interaction with a side missing for this review (no image, no product text) shows no bar:
a faint grey cell and "no img" / "no text" in grey italics.
"""
from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPolygonF
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from ..models.roles import SubScoreRole
from ..state.subscores import SubScoreView

BAR_COLOR = QColor(70, 130, 200, 150)
BAND_COLOR = QColor(70, 130, 200, 55)
DARK_BAND_COLOR = QColor(110, 168, 230, 85)  # the light theme's band all but vanishes on a dark base
OVER_COLOR = QColor(215, 120, 55, 220)


def _grey(option: QStyleOptionViewItem, alpha: int) -> QColor:
    c = QColor(option.palette.text().color())
    c.setAlpha(alpha)
    return c


class QtSubScoreBarDelegate(QStyledItemDelegate):
    """Paints ``SubScoreRole`` (a :class:`SubScoreView`); the tooltip is the model's."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        view: SubScoreView | None = index.data(SubScoreRole)
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text = opt.text
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        if view is None or view.value is None:
            return
        area = QRectF(opt.rect).adjusted(3, 4, -3, -4)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        font = QFont(painter.font())
        font.setPointSizeF(max(6.5, font.pointSizeF() * 0.85))
        painter.setFont(font)
        if view.greyed:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(_grey(opt, 18))
            painter.drawRoundedRect(area, 2, 2)
            font.setItalic(True)
            painter.setFont(font)
            painter.setPen(_grey(opt, 140))
            painter.drawText(area, int(Qt.AlignmentFlag.AlignCenter), view.short_text)
            painter.restore()
            return
        painter.setPen(Qt.PenStyle.NoPen)
        band = view.band
        if band is not None:
            a, b = band
            dark = opt.palette.base().color().lightness() < 128
            painter.setBrush(DARK_BAND_COLOR if dark else BAND_COLOR)
            painter.drawRect(QRectF(area.left() + a * area.width() - 0.75, area.top(),
                                    max(1.5, (b - a) * area.width()), area.height()))
        fraction, over = view.position
        bar = QRectF(area.left(), area.top() + area.height() * 0.3, fraction * area.width(), area.height() * 0.4)
        painter.setBrush(BAR_COLOR)
        painter.drawRect(bar)
        if over:
            tip = area.right() if over > 0 else area.left()  # pointing out of the scale, inside the cell
            base, y = tip - 5.0 * over, area.center().y()
            painter.setBrush(OVER_COLOR)
            painter.drawPolygon(QPolygonF([QPointF(base, y - 4), QPointF(tip, y), QPointF(base, y + 4)]))
        painter.setPen(opt.palette.highlightedText().color() if selected else opt.palette.text().color())
        # the number away from the bar's end, where the product's band is
        side = Qt.AlignmentFlag.AlignLeft if fraction > 0.5 else Qt.AlignmentFlag.AlignRight
        box = area.adjusted(1, -2, -1 - (5 if over > 0 else 0), 2)
        if area.width() >= 56:
            painter.drawText(box, int(side | Qt.AlignmentFlag.AlignVCenter), text)
        elif area.width() >= 30:  # a narrow column: one decimal (the tooltip has two)
            painter.drawText(box, int(side | Qt.AlignmentFlag.AlignVCenter), f"{float(view.value):.1f}")
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex):
        hint = super().sizeHint(option, index)
        hint.setWidth(max(hint.width(), 46))
        return hint
