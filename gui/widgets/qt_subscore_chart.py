"""A review's five sub-scores on the 0-4 label scale, against its product's range (painted).

One row per interaction: its name, a track on the fixed 0-4 axis (gridlines at each label),
the product's 10th-90th percentile as a faint band with whiskers at its min and max, the
review's value as a bar from 0, and on the right the value and its percentile within the
product ("flat" where the product's values hardly differ). An interaction with a side missing
for this review is greyed, without bar or band, and says which side (gui/state/subscores.py).
Painted rather than a QtCharts chart: a band and whiskers per category, greyed rows and a
tooltip per row are a few lines here. The score is not drawn: it is not on the label scale
(the waterfall below explains it).

A disputed sub-score (a moderator says it is too high or too low) is drawn in another colour
and its name marked. Right-click on a row disputes it; the menu key, or D in the review table,
opens the chooser of all five. The chart only asks (``dispute_requested``); the window writes
the dispute as an undoable command.
"""
from __future__ import annotations

from typing import Optional, Sequence

import shiboken6
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QContextMenuEvent, QFont, QFontMetrics, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QMenu, QSizePolicy, QToolTip, QWidget

from storage.records import Disputes, disputes_of

from ..state.subscores import LABEL_HIGH, LABEL_LOW, SubScoreView
from ..training.chart_style import DARK_MAIN, LIGHT_MAIN, themed_color, themed_painter
from .qt_dispute_menu import MARK, chooser_menu, interaction_menu

_COLORS = {  # (light, dark)
    "bar": ("#4682c8", "#6ea8e6"),
    "band": ("#4682c8", "#6ea8e6"),
    "over": ("#d7783a", "#f0a046"),
    "grid": ("#9aa5b1", "#7b8794"),
    "muted": ("#6b7785", "#9aa5b1"),
    "disputed": ("#c44838", "#eb6e5a"),
}
_PAD = 4
CAPTION = ("0\u20134: the helpfulness-label scale the sub-task heads were trained toward. Band: this product's "
           "10th\u201390th percentile; whiskers: its lowest and highest. Right-click a row to dispute it.")


def category_label(name: str, direction: Optional[str]) -> str:
    """A row's name: marked when disputed ("p_t r_t \u25b2 too high")."""
    return f"{name} {MARK[direction]} {direction.replace('_', ' ')}" if direction else name


class QtSubScoreChart(QWidget):
    """Created once; :meth:`set_views` changes what it shows.

    Attributes
    ----------
    views : tuple of SubScoreView
        The rows shown, top to bottom (empty: nothing to show).
    disputes : Disputes
        The active flag's disputed interactions, ``((name, direction), ...)``.

    Signals
    -------
    dispute_requested(str, object)
        Dispute this interaction: "too_high" / "too_low", or None to clear its dispute.
    """

    dispute_requested = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.views: tuple[SubScoreView, ...] = ()
        self._dark = False
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.9))
        self.setFont(font)
        self._small = QFont(font)
        self._small.setPointSizeF(max(6.5, font.pointSizeF() * 0.88))
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(200)
        self.setMouseTracking(True)
        self.disputes: Disputes = ()
        self._menu: Optional[QMenu] = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the menu key opens the chooser

    # ------------------------------------------------------------ data
    def set_views(self, views: Sequence[SubScoreView]) -> None:
        self.views = tuple(views)
        self.updateGeometry()
        self.update()

    def set_disputes(self, disputes: Disputes) -> None:
        """Mark the disputed sub-scores (colour and name); () for none."""
        self.disputes = disputes_of(disputes)
        self.update()

    def label(self, view: SubScoreView) -> str:
        """A row's name as drawn (marked when disputed)."""
        return category_label(view.name, dict(self.disputes).get(view.name))

    def set_dark(self, dark: bool) -> None:
        self._dark = dark
        self.update()

    def right_text(self, view: SubScoreView) -> str:
        """What the row says on the right: ``3.91 · 83rd``, ``1.71 · flat``, ``no img``."""
        if view.value is None:
            return "not scored"
        if view.greyed:
            return view.short_text
        value = f"{view.value:.2f}".replace("-", "\u2212")
        place = "flat" if view.flat else view.percentile_text
        return f"{value} \u00b7 {place}" if place else value

    @property
    def row_texts(self) -> list[str]:
        """Each row as read, ``name: right text`` (for tests and accessibility)."""
        return [f"{self.label(v)}: {self.right_text(v)}" for v in self.views]

    def row_tooltip(self, i: int) -> str:
        return self.views[i].tooltip if 0 <= i < len(self.views) else ""

    def index_at(self, pos: QPoint) -> Optional[int]:
        """The sub-score (0-4) of the row under ``pos``, or None."""
        i = int((pos.y() - _PAD) // self._row_height()) if pos.y() >= _PAD else -1
        return i if 0 <= i < len(self.views) else None

    def interaction_at(self, pos: QPoint) -> Optional[str]:
        """The interaction whose row is at widget position ``pos``, if any."""
        i = self.index_at(pos)
        return self.views[i].name if i is not None else None

    # ------------------------------------------------------------ disputes
    @property
    def _scored(self) -> bool:
        return any(v.value is not None for v in self.views)

    def _emit(self, name: str, direction: Optional[str]) -> None:
        self.dispute_requested.emit(name, direction)

    @property
    def menu(self) -> Optional[QMenu]:
        """The dispute menu on show (for tests and the screenshots); None once it closed."""
        menu = self._menu
        return menu if menu is not None and shiboken6.isValid(menu) and menu.isVisible() else None

    def _popup(self, menu: QMenu, global_pos: QPoint) -> QMenu:
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._menu = menu
        menu.popup(global_pos)
        return menu

    def open_chooser(self, global_pos: Optional[QPoint] = None) -> Optional[QMenu]:
        """The menu of all five interactions (D, the menu key); None when nothing is scored."""
        if not self._scored:
            return None
        at = global_pos if global_pos is not None else self.mapToGlobal(self.rect().center())
        return self._popup(chooser_menu(self, self.disputes, self._emit), at)

    def open_menu_at(self, pos: QPoint) -> Optional[QMenu]:
        """The context menu of the row at widget position ``pos`` (the chooser off the rows)."""
        if not self._scored:
            return None
        name = self.interaction_at(pos)
        if name is None:
            return self.open_chooser(self.mapToGlobal(pos))
        return self._popup(interaction_menu(self, name, self.disputes, self._emit), self.mapToGlobal(pos))

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802 (Qt's name)
        if event.reason() == QContextMenuEvent.Reason.Keyboard:
            self.open_chooser()
        else:
            self.open_menu_at(event.pos())
        event.accept()

    # ------------------------------------------------------------ geometry
    def _row_height(self) -> int:
        return self.fontMetrics().height() + 8

    def row_height(self) -> int:
        """Height of one sub-score row in pixels."""
        return self._row_height()

    def row_top(self, i: int) -> int:
        """Top of row ``i`` in widget coordinates."""
        return _PAD + i * self._row_height()

    def _caption_rect(self, width: int) -> QRectF:
        fm = QFontMetrics(self._small)
        top = _PAD + len(self.views) * self._row_height() + fm.height() + 4
        r = fm.boundingRect(0, 0, max(40, width - 2 * _PAD), 1000, int(Qt.TextFlag.TextWordWrap), CAPTION)
        return QRectF(_PAD, top, width - 2 * _PAD, r.height())

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt's name): the caption wraps to the width
        return int(self._caption_rect(max(width, 200)).bottom()) + _PAD if self.views else 0

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def sizeHint(self) -> QSize:
        return QSize(260, self.heightForWidth(max(self.width(), 260)))

    def minimumSizeHint(self) -> QSize:
        return QSize(200, self.heightForWidth(max(self.width(), 200)))

    # ------------------------------------------------------------ tooltips
    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            i = self.index_at(event.pos())
            if i is None:
                QToolTip.hideText()
                event.ignore()
            else:
                QToolTip.showText(event.globalPos(), self.row_tooltip(i), self)
            return True
        return super().event(event)

    # ------------------------------------------------------------ painting
    def _color(self, name: str, alpha: int = 255) -> QColor:
        return themed_color(_COLORS, name, self._dark, alpha)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        p = themed_painter(self, self._dark)
        if not self.views:
            p.end()
            return
        text_color = QColor(DARK_MAIN if self._dark else LIGHT_MAIN)
        fm = self.fontMetrics()
        rh = self._row_height()
        name_w = max(fm.horizontalAdvance(self.label(v)) for v in self.views) + 8
        right_w = max(fm.horizontalAdvance("\u22120.00 \u00b7 100th"), fm.horizontalAdvance("not scored")) + 6
        left, right = _PAD + name_w, self.width() - _PAD - right_w
        span = LABEL_HIGH - LABEL_LOW

        def x(fraction: float) -> float:
            return left + fraction * (right - left)

        bottom = _PAD + rh * len(self.views)
        p.setPen(QPen(self._color("grid", 90), 1, Qt.PenStyle.DotLine))
        for k in range(int(span) + 1):
            p.drawLine(int(x(k / span)), _PAD, int(x(k / span)), bottom)
        p.setFont(self._small)
        p.setPen(self._color("muted"))
        for k in range(int(span) + 1):
            label = f"{LABEL_LOW + k:g}"
            lw = p.fontMetrics().horizontalAdvance(label)
            p.drawText(QRectF(x(k / span) - lw / 2 - 2, bottom + 1, lw + 4, p.fontMetrics().height()),
                       int(Qt.AlignmentFlag.AlignCenter), label)
        p.drawText(self._caption_rect(self.width()), int(Qt.TextFlag.TextWordWrap), CAPTION)
        p.setFont(self.font())
        for i, v in enumerate(self.views):
            self._paint_row(p, v, _PAD + i * rh, rh, left, right, x, text_color)
        p.end()

    def _paint_row(self, p: QPainter, v: SubScoreView, top: float, rh: int, left: float, right: float, x,
                   text_color: QColor) -> None:
        greyed = v.greyed or v.value is None
        disputed = v.name in dict(self.disputes)
        name_color = self._color("disputed") if disputed else self._color("muted") if greyed else text_color
        p.setPen(name_color)
        p.drawText(QRectF(_PAD, top, left - _PAD, rh), int(Qt.AlignmentFlag.AlignVCenter), self.label(v))
        p.setPen(self._color("muted") if greyed else text_color)
        right_font = QFont(self.font())
        right_font.setItalic(greyed)
        p.setFont(right_font)
        p.drawText(QRectF(right + 4, top, self.width() - _PAD - right - 4, rh),
                   int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight), self.right_text(v))
        p.setFont(self.font())
        mid = top + rh / 2
        if greyed:
            p.setPen(QPen(self._color("grid", 150), 1, Qt.PenStyle.DotLine))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(QRectF(left, top + 3, right - left, rh - 6))
            return
        p.setPen(Qt.PenStyle.NoPen)
        if v.band is not None:
            a, b = v.band
            p.setBrush(self._color("band", 60))
            p.drawRect(QRectF(x(a) - 0.75, top + 2, max(1.5, x(b) - x(a)), rh - 4))
        fraction, over = v.position
        p.setBrush(self._color("disputed" if disputed else "bar", 200))
        p.drawRect(QRectF(left, mid - rh * 0.16, x(fraction) - left, rh * 0.32))
        if v.range is not None:  # whiskers at the product's lowest and highest
            lo, hi = v.range
            p.setPen(QPen(self._color("grid", 220), 1))
            p.drawLine(int(x(lo)), int(top + 3), int(x(lo)), int(top + rh - 3))
            p.drawLine(int(x(hi)), int(top + 3), int(x(hi)), int(top + rh - 3))
            p.setPen(Qt.PenStyle.NoPen)
        if over:
            tip = right if over > 0 else left
            base = tip - 6.0 * over
            p.setBrush(self._color("over"))
            p.drawPolygon(QPolygonF([QPointF(base, mid - 5), QPointF(tip, mid), QPointF(base, mid + 5)]))
