"""Draws a sub-score in its cell on the fixed 0-4 label scale (gui/state/subscores.py).

A thin bar from 0 to the value, the number over it; behind the bar, a faint band over the
product's 10th-90th percentile, as thin as the product's spread is (a flat sub-score shows a
hairline, not a stretched axis); a small triangle at an end where the value goes past 0 or 4.
An interaction with a side missing for this review (no image, no product text) shows no bar:
a faint grey cell and "no img" / "no text" in grey italics.
"""
from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPixmap, QPolygonF
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from ..models.formatting import fmt_float
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
    """Paints ``SubScoreRole`` (a :class:`SubScoreView`); the tooltip is the model's.

    A repaint draws every visible sub-score cell (five a row) through Python, so the cell's
    background and selection are drawn from the view's own option (no copy, no
    ``initStyleOption``, whose eight model lookups a cell were half of a repaint) and the small
    font and the greys are made once per base font and palette."""

    MAX_CACHED = 64

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._fonts: tuple = (None, None, None)  # (base font, small, small italic)
        self._greys: tuple = (None, None, None)  # (text colour rgba, light grey, grey)
        self._greyed: dict[tuple, QPixmap] = {}  # a greyed cell's drawing, by size, text, colours, font

    def _small_fonts(self, base: QFont) -> tuple[QFont, QFont]:
        if self._fonts[0] != base:
            small = QFont(base)
            small.setPointSizeF(max(6.5, base.pointSizeF() * 0.85))
            italic = QFont(small)
            italic.setItalic(True)
            self._fonts = (QFont(base), small, italic)
            self._greyed.clear()  # drawn in the old font
        return self._fonts[1], self._fonts[2]

    def _grey_pair(self, option: QStyleOptionViewItem) -> tuple[QColor, QColor]:
        rgba = option.palette.text().color().rgba()
        if self._greys[0] != rgba:
            self._greys = (rgba, _grey(option, 18), _grey(option, 140))
        return self._greys[1], self._greys[2]

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        view: SubScoreView | None = index.data(SubScoreRole)
        widget = option.widget
        style = widget.style() if widget is not None else None
        if style is not None:
            if option.state & QStyle.StateFlag.State_HasFocus:  # the focus frame too: the full item
                opt = QStyleOptionViewItem(option)
                self.initStyleOption(opt, index)
                opt.text = ""
                style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
            else:  # background, alternate row and selection, as CE_ItemViewItem draws them
                style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, widget)
        if view is None or view.value is None:
            return
        area = QRectF(option.rect).adjusted(3, 4, -3, -4)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        small, italic = self._small_fonts(option.font)
        if view.greyed:
            light, grey = self._grey_pair(option)
            dpr = painter.device().devicePixelRatioF()
            if dpr != int(dpr):  # a fractional scale: a copy would be resampled, drawn here
                painter.save()
                painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
                draw_greyed(painter, area, view.short_text, light, grey, italic)
                painter.restore()
                return
            # the same few drawings in most cells of a text-only catalogue (4 of the 5 interactions
            # read an image): drawn once, then copied (the text's layout was most of a cell's time)
            key = (area.width(), area.height(), view.short_text, light.rgba(), grey.rgba(), dpr)
            pixmap = self._greyed.get(key)
            if pixmap is None:
                if len(self._greyed) >= self.MAX_CACHED:
                    self._greyed.clear()
                pixmap = self._greyed[key] = _greyed_cell(area.width(), area.height(), view.short_text, light, grey,
                                                          italic, dpr)
            painter.drawPixmap(area.topLeft(), pixmap)
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setFont(small)
        painter.setPen(Qt.PenStyle.NoPen)
        band = view.band
        if band is not None:
            a, b = band
            dark = option.palette.base().color().lightness() < 128
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
        painter.setPen(option.palette.highlightedText().color() if selected else option.palette.text().color())
        # the number away from the bar's end, where the product's band is
        side = Qt.AlignmentFlag.AlignLeft if fraction > 0.5 else Qt.AlignmentFlag.AlignRight
        box = area.adjusted(1, -2, -1 - (5 if over > 0 else 0), 2)
        if area.width() >= 56:
            painter.drawText(box, int(side | Qt.AlignmentFlag.AlignVCenter), fmt_float(view.value))
        elif area.width() >= 30:  # a narrow column: one decimal (the tooltip has two)
            painter.drawText(box, int(side | Qt.AlignmentFlag.AlignVCenter), f"{float(view.value):.1f}")
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex):
        hint = super().sizeHint(option, index)
        hint.setWidth(max(hint.width(), 46))
        return hint


def draw_greyed(painter: QPainter, area: QRectF, text: str, light: QColor, grey: QColor, font: QFont) -> None:
    """A cell whose interaction has a side missing: a faint rounded box, the reason in grey italics."""
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(light)
    painter.drawRoundedRect(area, 2, 2)
    painter.setFont(font)
    painter.setPen(grey)
    painter.drawText(area, int(Qt.AlignmentFlag.AlignCenter), text)


def _greyed_cell(width: float, height: float, text: str, light: QColor, grey: QColor, font: QFont, dpr: float) -> QPixmap:
    """:func:`draw_greyed` in a transparent pixmap of the cell's size at the device's pixel ratio."""
    pixmap = QPixmap(max(1, round(width * dpr)), max(1, round(height * dpr)))
    pixmap.setDevicePixelRatio(dpr)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    try:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        draw_greyed(p, QRectF(0, 0, width, height), text, light, grey, font)
    finally:
        p.end()
    return pixmap
