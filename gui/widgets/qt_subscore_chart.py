"""Bar chart of a review's five sub-scores, with its score as a reference line (QtCharts)."""
from __future__ import annotations

from typing import Optional, Sequence

from PySide6.QtCharts import QBarCategoryAxis, QBarSeries, QBarSet, QChart, QChartView, QLineSeries, QValueAxis
from PySide6.QtCore import QMargins, QPointF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen

from storage.records import SUBSCORE_NAMES


class QtSubScoreChart(QChartView):
    """Created once; :meth:`set_scores` only changes values (building a chart is slow)."""

    def __init__(self, parent=None) -> None:
        chart = QChart()
        super().__init__(chart, parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(210)
        chart.setMargins(QMargins(4, 4, 4, 4))
        chart.setBackgroundRoundness(0)
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        self.bars = QBarSet("sub-scores")
        self.bars.append([0.0] * len(SUBSCORE_NAMES))
        self.bars.setColor(QColor(70, 130, 200))
        self.bar_series = QBarSeries()
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
        self.x_axis = QBarCategoryAxis()
        self.x_axis.append(list(SUBSCORE_NAMES))
        small = QFont(self.font())
        small.setPointSizeF(max(6.5, small.pointSizeF() * 0.8))
        self._small_font = small
        self.y_axis = QValueAxis()
        self.y_axis.setLabelFormat("%.1f")
        self.y_axis.setTickCount(5)
        self._apply_fonts()
        chart.addAxis(self.x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self.y_axis, Qt.AlignmentFlag.AlignLeft)
        for series in (self.bar_series, self.score_line):
            series.attachAxis(self.x_axis)
            series.attachAxis(self.y_axis)
        self.set_scores(None, (None,) * len(SUBSCORE_NAMES))

    def set_scores(self, score: Optional[float], sub_scores: Sequence[Optional[float]]) -> None:
        values = [0.0 if v is None else float(v) for v in sub_scores]
        for i, v in enumerate(values):
            self.bars.replace(i, v)
        self.score_line.clear()
        scored = score is not None or any(v is not None for v in sub_scores)
        if score is not None:
            self.score_line.append([QPointF(-0.5, score), QPointF(len(values) - 0.5, score)])
        everything = values + ([score] if score is not None else [])
        low, high = min(everything + [0.0]), max(everything + [1.0])
        pad = 0.08 * (high - low)
        self.y_axis.setRange(low - (pad if low < 0 else 0.0), high + pad)
        self.chart().setTitle("" if scored else "not scored")
        self.bar_series.setVisible(scored)
        self.score_line.setVisible(score is not None)

    def _apply_fonts(self) -> None:
        # Five category names must fit a narrow pane: smaller axis labels than the theme's.
        self.x_axis.setLabelsFont(self._small_font)
        self.y_axis.setLabelsFont(self._small_font)
        self.chart().legend().setFont(self._small_font)

    def set_dark(self, dark: bool) -> None:
        chart = self.chart()
        chart.setTheme(QChart.ChartTheme.ChartThemeDark if dark else QChart.ChartTheme.ChartThemeLight)
        self._apply_fonts()  # a theme resets fonts
        chart.setBackgroundBrush(self.palette().base())
        self.bars.setColor(QColor(91, 155, 213) if dark else QColor(70, 130, 200))
        pen = self.score_line.pen()
        pen.setColor(QColor(240, 160, 70) if dark else QColor(217, 130, 43))
        self.score_line.setPen(pen)
