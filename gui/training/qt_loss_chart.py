"""Live loss plot: the loss of every step, and per epoch the target loss and the five subtask losses."""
from __future__ import annotations

import math

from PySide6.QtCharts import QChartView, QLineSeries
from PySide6.QtCore import QPointF, Qt

from .chart_style import (
    DARK_MAIN, LIGHT_MAIN, STEP_COLOR, SUBTASK_COLORS, fit, new_chart, pen, set_epoch_range, style_chart, value_axis,
)
from .state import SUBTASKS, EpochRecord, StepRecord, TrainingRunState

MAX_STEP_POINTS = 1500  # beyond this, every k-th step: a chart of 10^5 points repaints slowly


class QtLossChart(QChartView):
    """Binds to :class:`TrainingRunState`: ``step_added``, ``epoch_added``, ``reset``."""

    def __init__(self, state: TrainingRunState, parent=None) -> None:
        super().__init__(new_chart("Losses"), parent)
        self._state = state
        self.setMinimumSize(220, 160)
        chart = self.chart()
        chart.legend().setVisible(False)  # one shared legend above the charts
        self.x_axis = value_axis("epoch", "%.0f")
        self.y_axis = value_axis("loss", "%.2f")
        chart.addAxis(self.x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self.y_axis, Qt.AlignmentFlag.AlignLeft)
        self.step_series = self._series("step (total)", pen(STEP_COLOR, 1.0))
        self.target_series = self._series("target", pen(LIGHT_MAIN, 2.4), points=True)
        self.subtask_series = {s: self._series(s, pen(SUBTASK_COLORS[s], 1.3), points=True) for s in SUBTASKS}
        self._values: list[float] = []
        self._stride = 1
        self._dark = False
        state.events.step_added.connect(self._on_step_added)
        state.events.epoch_added.connect(self._on_epoch_added)
        state.events.reset.connect(self._on_reset)
        self.set_dark(False)
        self._on_reset()

    def _series(self, name: str, line_pen, points: bool = False) -> QLineSeries:
        series = QLineSeries()
        series.setName(name)
        series.setPen(line_pen)
        series.setPointsVisible(points)
        self.chart().addSeries(series)
        series.attachAxis(self.x_axis)
        series.attachAxis(self.y_axis)
        return series

    def _epochs(self) -> int:
        return int(self._state.config.get("epochs") or 0) or max(1, len(self._state.epochs))

    def _on_reset(self, _value=None) -> None:
        for series in (self.step_series, self.target_series, *self.subtask_series.values()):
            series.clear()
        self._values, self._stride = [], 1
        set_epoch_range(self.x_axis, max(1, self._epochs()))
        self.y_axis.setRange(0, 1)

    def _on_step_added(self, rec: StepRecord) -> None:
        if rec.loss is None:
            return
        if rec.step == 1 and rec.epoch == 1:
            total = rec.steps * self._epochs()
            self._stride = max(1, math.ceil(total / MAX_STEP_POINTS))
        if rec.step % self._stride and rec.step != rec.steps:
            return
        self.step_series.append(QPointF(rec.x, rec.loss))
        self._values.append(rec.loss)
        set_epoch_range(self.x_axis, max(self._epochs(), math.ceil(rec.x)))
        fit(self.y_axis, self._values)

    def _on_epoch_added(self, rec: EpochRecord) -> None:
        if rec.target_loss is not None:
            self.target_series.append(QPointF(rec.epoch, rec.target_loss))
            self._values.append(rec.target_loss)
        for name, value in rec.subtask_losses.items():
            if name in self.subtask_series:
                self.subtask_series[name].append(QPointF(rec.epoch, value))
                self._values.append(value)
        set_epoch_range(self.x_axis, max(self._epochs(), rec.epoch))
        fit(self.y_axis, self._values)

    def set_dark(self, dark: bool) -> None:
        self._dark = dark
        style_chart(self, dark, (self.x_axis, self.y_axis))
        self.target_series.setPen(pen(DARK_MAIN if dark else LIGHT_MAIN, 2.4))
        self.step_series.setPen(pen(STEP_COLOR, 1.0))
        for name, series in self.subtask_series.items():
            series.setPen(pen(SUBTASK_COLORS[name], 1.3))
