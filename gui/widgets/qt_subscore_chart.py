"""Bar chart of a review's five sub-scores, with its score as a reference line (QtCharts).

Horizontal bars: the five names ("p_t r_t", ...) read in full on the left of a narrow pane,
where five vertical bars left each name ~40 px and the axis read "p... p... p...".
"""
from __future__ import annotations

from typing import Optional, Sequence

from PySide6.QtCharts import QBarCategoryAxis, QBarSet, QChart, QChartView, QHorizontalBarSeries, QLineSeries, QValueAxis
from PySide6.QtCore import QMargins, QPointF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen

from storage.records import SUBSCORE_NAMES

from ..training.chart_style import DARK_BACKGROUND, LIGHT_BACKGROUND


class QtSubScoreChart(QChartView):
    """Created once; :meth:`set_scores` only changes values (building a chart is slow)."""

    def __init__(self, parent=None) -> None:
        chart = QChart()
        super().__init__(chart, parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(190)
        chart.setMargins(QMargins(4, 4, 4, 4))
        chart.setBackgroundRoundness(0)
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        self.bars = QBarSet("sub-scores")
        self.bars.append([0.0] * len(SUBSCORE_NAMES))
        self.bars.setColor(QColor(70, 130, 200))
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
        pen = self.score_line.pen()
        pen.setColor(QColor(240, 160, 70) if dark else QColor(217, 130, 43))
        self.score_line.setPen(pen)
