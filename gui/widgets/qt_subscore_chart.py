"""Bar chart of a review's five sub-scores, with its score as a reference line (QtCharts).

Horizontal bars: the five names ("p_t r_t", ...) read in full on the left of a narrow pane,
where five vertical bars left each name ~40 px and the axis read "p... p... p...".

A disputed sub-score (a moderator says it is too high or too low) is drawn in another colour
and its name marked. Right-click on a bar (or its name) disputes it; the menu key, or D in the
review table, opens the chooser of all five. The chart only asks (``dispute_requested``); the
window writes the dispute as an undoable command.
"""
from __future__ import annotations

from typing import Optional, Sequence

import shiboken6
from PySide6.QtCharts import QBarCategoryAxis, QBarSet, QChart, QChartView, QHorizontalBarSeries, QLineSeries, QValueAxis
from PySide6.QtCore import QMargins, QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QContextMenuEvent, QFont, QPainter, QPen
from PySide6.QtWidgets import QMenu

from storage.records import SUBSCORE_NAMES, Disputes, disputes_of

from ..training.chart_style import DARK_BACKGROUND, LIGHT_BACKGROUND
from .qt_dispute_menu import MARK, chooser_menu, interaction_menu

DISPUTED_LIGHT, DISPUTED_DARK = QColor(196, 72, 56), QColor(235, 110, 90)


def category_label(name: str, direction: Optional[str]) -> str:
    """A bar's name on the axis: marked when disputed ("p_t r_t ▲ too high")."""
    return f"{name} {MARK[direction]} {direction.replace('_', ' ')}" if direction else name


class QtSubScoreChart(QChartView):
    """Created once; :meth:`set_scores` only changes values (building a chart is slow).

    Signals
    -------
    dispute_requested(str, object)
        Dispute this interaction: "too_high" / "too_low", or None to clear its dispute.
    """

    dispute_requested = Signal(str, object)

    def __init__(self, parent=None) -> None:
        chart = QChart()
        super().__init__(chart, parent)
        self.disputes: Disputes = ()
        self._menu: Optional[QMenu] = None
        self._scored = False
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the menu key opens the chooser
        self.setToolTip("Right-click a sub-score to dispute it (too high / too low); D in the review table")
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(190)
        chart.setMargins(QMargins(4, 4, 4, 4))
        chart.setBackgroundRoundness(0)
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        self.bars = QBarSet("sub-scores")
        self.bars.append([0.0] * len(SUBSCORE_NAMES))
        self.bars.setColor(QColor(70, 130, 200))
        self.bars.setSelectedColor(DISPUTED_LIGHT)
        self.bar_series = QHorizontalBarSeries()
        self.bar_series.append(self.bars)
        self.bar_series.setBarWidth(0.6)
        self.score_line = QLineSeries()
        self.score_line.setName("score")
        pen = QPen(QColor(217, 130, 43))
        pen.setWidthF(2.0)
        pen.setStyle(Qt.PenStyle.DashLine)
        self.score_line.setPen(pen)
        chart.addSeries(self.bar_series)
        chart.addSeries(self.score_line)
        # categories bottom-up: the first sub-score is drawn at the top
        self.category_axis = QBarCategoryAxis()
        self.category_axis.append(list(reversed(SUBSCORE_NAMES)))
        self.category_axis.setTruncateLabels(False)  # the layout under-reserves: "p_t r_t" read "..."
        small = QFont(self.font())
        small.setPointSizeF(max(6.5, small.pointSizeF() * 0.8))
        self._small_font = small
        self.value_axis = QValueAxis()
        self.value_axis.setLabelFormat("%.1f")
        self.value_axis.setTickCount(5)
        self._apply_fonts()
        chart.addAxis(self.value_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self.category_axis, Qt.AlignmentFlag.AlignLeft)
        for series in (self.bar_series, self.score_line):
            series.attachAxis(self.value_axis)
            series.attachAxis(self.category_axis)
        self.set_scores(None, (None,) * len(SUBSCORE_NAMES))

    def set_scores(self, score: Optional[float], sub_scores: Sequence[Optional[float]]) -> None:
        values = [0.0 if v is None else float(v) for v in sub_scores]
        for i, v in enumerate(reversed(values)):
            self.bars.replace(i, v)
        self.score_line.clear()
        scored = score is not None or any(v is not None for v in sub_scores)
        if score is not None:
            self.score_line.append([QPointF(score, -0.5), QPointF(score, len(values) - 0.5)])
        everything = values + ([score] if score is not None else [])
        low, high = min(everything + [0.0]), max(everything + [1.0])
        pad = 0.08 * (high - low)
        self.value_axis.setRange(low - (pad if low < 0 else 0.0), high + pad)
        self.chart().setTitle("" if scored else "not scored")
        self.bar_series.setVisible(scored)
        self.score_line.setVisible(score is not None)
        self._scored = scored

    def set_disputes(self, disputes: Disputes) -> None:
        """Mark the disputed sub-scores (colour and name); () for none."""
        self.disputes = disputes_of(disputes)
        current = dict(self.disputes)
        labels = [category_label(name, current.get(name)) for name in reversed(SUBSCORE_NAMES)]
        if list(self.category_axis.categories()) != labels:
            self.category_axis.clear()
            self.category_axis.append(labels)
        self.bars.deselectAllBars()
        self.bars.selectBars([len(SUBSCORE_NAMES) - 1 - SUBSCORE_NAMES.index(n) for n in current])

    # ---------------------------------------------------------------- disputes

    def interaction_at(self, pos: QPoint) -> Optional[str]:
        """The interaction whose bar (or name) is at widget position ``pos``, if any."""
        chart = self.chart()
        scene = self.mapToScene(pos)
        area = chart.plotArea()
        local = chart.mapFromScene(scene)
        if not (area.top() <= local.y() <= area.bottom()):
            return None
        row = round(chart.mapToValue(local, self.bar_series).y())  # categories bottom-up
        if 0 <= row < len(SUBSCORE_NAMES):
            return SUBSCORE_NAMES[len(SUBSCORE_NAMES) - 1 - row]
        return None

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
        """The context menu of the bar at widget position ``pos`` (the chooser off the bars)."""
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

    def _apply_fonts(self) -> None:
        self.category_axis.setLabelsFont(self._small_font)
        self.value_axis.setLabelsFont(self._small_font)
        self.chart().legend().setFont(self._small_font)

    def set_dark(self, dark: bool) -> None:
        chart = self.chart()
        chart.setTheme(QChart.ChartTheme.ChartThemeDark if dark else QChart.ChartTheme.ChartThemeLight)
        self._apply_fonts()  # a theme resets fonts
        # explicit colours: the palette may still be the old theme's when this runs (the
        # style sheet is applied by another slot of the switch): white under light text
        background = QColor(DARK_BACKGROUND if dark else LIGHT_BACKGROUND)
        chart.setBackgroundBrush(background)
        self.setBackgroundBrush(background)
        self.bars.setColor(QColor(91, 155, 213) if dark else QColor(70, 130, 200))
        self.bars.setSelectedColor(DISPUTED_DARK if dark else DISPUTED_LIGHT)
        pen = self.score_line.pen()
        pen.setColor(QColor(240, 160, 70) if dark else QColor(217, 130, 43))
        self.score_line.setPen(pen)
