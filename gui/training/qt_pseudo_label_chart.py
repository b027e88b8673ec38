"""How SSP-Label moves the five subtask pseudo-labels away from the human label, per epoch:
their mean (one chart) or their spread (std, another), against the human labels' (dashed)."""
from __future__ import annotations

from PySide6.QtCharts import QChartView, QLineSeries
from PySide6.QtCore import QPointF, Qt

from .chart_style import (
    DARK_MAIN, LIGHT_MAIN, SUBTASK_COLORS, fit, new_chart, pen, set_epoch_range, style_chart, value_axis,
)
from .state import HUMAN_LABEL, SUBTASKS, EpochRecord, TrainingRunState

TITLES = {"mean": "Pseudo-label mean", "std": "Pseudo-label spread (std)"}


class QtPseudoLabelChart(QChartView):
    """Binds to :class:`TrainingRunState`: ``epoch_added`` and ``reset``.

    Parameters
    ----------
    stat : {"mean", "std"}
        Which statistic of the pseudo-labels to plot. Every pseudo-label starts at the
        review's human label, so both curves start on the dashed human line and the gap
        that opens is what SSP-Label learned.
    """

    def __init__(self, state: TrainingRunState, stat: str = "mean", parent=None) -> None:
        if stat not in TITLES:
            raise ValueError(f"stat: 'mean' or 'std', got {stat!r}")
        super().__init__(new_chart(TITLES[stat]), parent)
        self._state = state
        self._index = 0 if stat == "mean" else 1
        self.setMinimumSize(180, 160)
        chart = self.chart()
        chart.legend().setVisible(False)  # one shared legend above the charts
        self.x_axis = value_axis("epoch", "%.0f")
        self.y_axis = value_axis("label" if stat == "mean" else "std", "%.2f")
        chart.addAxis(self.x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self.y_axis, Qt.AlignmentFlag.AlignLeft)
        self.human = self._line("human labels")
        self.lines = {name: self._line(name) for name in SUBTASKS}
        self._values: list[float] = []
        state.events.epoch_added.connect(self._on_epoch_added)
        state.events.reset.connect(self._on_reset)
        self.set_dark(False)
        self._on_reset()

    def _line(self, name: str) -> QLineSeries:
        series = QLineSeries()
        series.setName(name)
        self.chart().addSeries(series)
        series.attachAxis(self.x_axis)
        series.attachAxis(self.y_axis)
        return series

    def _on_reset(self, _value=None) -> None:
        for series in (self.human, *self.lines.values()):
            series.clear()
        self._values = []
        set_epoch_range(self.x_axis, max(1, int(self._state.config.get("epochs") or 1)))
        self.y_axis.setRange(0, 2)

    def _on_epoch_added(self, rec: EpochRecord) -> None:
        set_epoch_range(self.x_axis, max(rec.epochs, rec.epoch, 1))
        for name, series in ((HUMAN_LABEL, self.human), *self.lines.items()):
            stats = rec.pseudo_labels.get(name)
            if stats is not None:
                series.append(QPointF(rec.epoch, stats[self._index]))
                self._values.append(stats[self._index])
        fit(self.y_axis, self._values, pad=0.15, minimum_span=0.05)

    def set_dark(self, dark: bool) -> None:
        style_chart(self, dark, (self.x_axis, self.y_axis))
        self.human.setPen(pen(DARK_MAIN if dark else LIGHT_MAIN, 2.0, Qt.PenStyle.DashLine))
        for name, series in self.lines.items():
            series.setPen(pen(SUBTASK_COLORS[name], 1.6))
            series.setPointsVisible(True)
