"""A painted waterfall of a score's parts (gui/state/score_waterfall.py): base, parts, score.

One row a line, full width: the plain name on the left, the signed value on the right, and the
part's bar as a light band behind the text, from where the running total was to where it is
now (a thin line joins consecutive totals). Painted rather than a QtCharts chart: a category
axis of twenty names does not fit a ~270 px pane, while one text line a row does. Colours are
explicit per theme (as the charts', gui/training/chart_style.py), never the palette, which may
still be the old theme's when the switch reaches this widget.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..state.score_waterfall import Waterfall
from ..training.chart_style import DARK_MAIN, LIGHT_MAIN, themed_color, themed_painter

_COLORS = {  # (light, dark) bar colours: up, down, base/score, group
    "up": ("#2e8b57", "#5cc98a"),
    "down": ("#c0392b", "#ef7b6e"),
    "total": ("#4682c8", "#6ea8e6"),
    "group": ("#9aa5b1", "#7b8794"),
}
_PAD = 4


class QtScoreWaterfall(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.waterfall: Optional[Waterfall] = None
        self._dark = False
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.9))
        self.setFont(font)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(160)

    # ------------------------------------------------------------ data
    def set_waterfall(self, w: Optional[Waterfall]) -> None:
        self.waterfall = w
        self.setToolTip("\n".join(r.text for r in w.rows) if w else "")
        self.updateGeometry()
        self.update()

    def set_dark(self, dark: bool) -> None:
        self._dark = dark
        self.update()

    @property
    def row_texts(self) -> list[str]:
        """What each row reads, top to bottom (for tests and accessibility)."""
        return [r.text for r in self.waterfall.rows] if self.waterfall else []

    # ------------------------------------------------------------ geometry
    def _row_height(self) -> int:
        return self.fontMetrics().height() + 5

    def sizeHint(self) -> QSize:
        n = len(self.waterfall.rows) if self.waterfall else 0
        return QSize(260, 2 * _PAD + n * self._row_height())

    def minimumSizeHint(self) -> QSize:
        return QSize(160, self.sizeHint().height())

    def hasHeightForWidth(self) -> bool:
        return False

    # ------------------------------------------------------------ painting
    def _color(self, name: str, alpha: int = 255) -> QColor:
        return themed_color(_COLORS, name, self._dark, alpha)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        p = themed_painter(self, self._dark)
        w = self.waterfall
        if not w:
            p.end()
            return
        text_color = QColor(DARK_MAIN if self._dark else LIGHT_MAIN)
        rh = self._row_height()
        left, right = _PAD, self.width() - _PAD
        low, high = w.low, w.high
        span = (high - low) or 1.0

        def x(v: float) -> float:
            return left + (v - low) / span * (right - left)

        fm = self.fontMetrics()
        bold = QFont(self.font())
        bold.setBold(True)
        # zero line
        p.setPen(QPen(self._color("group", 160), 1, Qt.PenStyle.DotLine))
        p.drawLine(int(x(0.0)), _PAD, int(x(0.0)), _PAD + rh * len(w.rows))
        prev_end: Optional[float] = None
        for i, row in enumerate(w.rows):
            top = _PAD + i * rh
            if row.kind in ("base", "score"):
                color = self._color("total", 110)
            elif row.kind == "group":
                color = self._color("group", 110)
            else:
                color = self._color("up" if row.value >= 0 else "down", 110)
            a, b = sorted((x(row.start), x(row.end)))
            p.fillRect(QRectF(a, top + 2, max(b - a, 1.5), rh - 4), color)
            if prev_end is not None and row.kind != "score":  # connector from the previous total
                p.setPen(QPen(self._color("group", 200), 1))
                p.drawLine(int(x(prev_end)), top - 2, int(x(prev_end)), top + 2)
            prev_end = row.end
            # text: name left (elided), value right
            value = row.text[len(row.label) + 1:]
            p.setFont(bold if row.kind in ("base", "score") else self.font())
            p.setPen(text_color)
            vw = p.fontMetrics().horizontalAdvance(value)
            name = fm.elidedText(row.label, Qt.TextElideMode.ElideRight, int(right - left - vw - 8))
            box = QRectF(left + 2, top, right - left - 4, rh)
            p.drawText(box, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, name)
            p.drawText(box, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, value)
        p.end()
