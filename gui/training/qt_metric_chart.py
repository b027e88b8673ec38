"""Dev-split MAP (and NDCG@3) after every epoch; the best epoch, the one kept, is marked."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCharts import QChartView, QLineSeries, QScatterSeries
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor

from .chart_style import (
    BEST_COLOR, DARK_MAIN, LIGHT_MAIN, NDCG_COLOR, fit, new_chart, pen, set_epoch_range, style_chart, value_axis,
)
from .state import EpochRecord, TrainingRunState


class QtDevMetricChart(QChartView):
    """Binds to :class:`TrainingRunState`: ``epoch_added`` and ``reset``."""

    def __init__(self, state: TrainingRunState, parent=None) -> None:
        super().__init__(new_chart("Dev MAP"), parent)
        self._state = state
        self.setMinimumSize(180, 160)
        chart = self.chart()
        chart.legend().setVisible(False)  # one shared legend above the charts
        self.x_axis = value_axis("epoch", "%.0f")
        self.y_axis = value_axis("x100", "%.0f")
        chart.addAxis(self.x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self.y_axis, Qt.AlignmentFlag.AlignLeft)
        self.map_series = self._add(QLineSeries(), "MAP")
        self.ndcg_series = self._add(QLineSeries(), "NDCG@3")
        self.best = self._add(QScatterSeries(), "best epoch")
        self.best.setMarkerSize(11.0)
        self.reference = self._add(QLineSeries(), "parent")
        self._reference: Optional[float] = None
        self._values: list[float] = []
        state.events.epoch_added.connect(self._on_epoch_added)
        state.events.reset.connect(self._on_reset)
        self.set_dark(False)
        self._on_reset()

    def _add(self, series, name: str):
        series.setName(name)
        self.chart().addSeries(series)
        series.attachAxis(self.x_axis)
        series.attachAxis(self.y_axis)
        return series

    def set_reference(self, dev_map: Optional[float]) -> None:
        """The dev MAP to beat (the parent model's), drawn as a flat line; None: none."""
        self._reference = dev_map
        self._draw_reference(max(1, int(self._state.config.get("epochs") or 1)))

    def _draw_reference(self, epochs: float) -> None:
        self.reference.clear()
        if self._reference is not None:
            self.reference.append([QPointF(0, self._reference), QPointF(epochs, self._reference)])

    def _on_reset(self, _value=None) -> None:
        for series in (self.map_series, self.ndcg_series, self.best):
            series.clear()
        self._values = [] if self._reference is None else [self._reference]
        set_epoch_range(self.x_axis, max(1, int(self._state.config.get("epochs") or 1)))
        self.y_axis.setRange(0, 100)
        self.chart().setTitle("Dev MAP")

    def _on_epoch_added(self, rec: EpochRecord) -> None:
        epochs = max(rec.epochs, rec.epoch, 1)
        set_epoch_range(self.x_axis, epochs)
        self._draw_reference(epochs)
        if "MAP" not in rec.dev:
            self.chart().setTitle("Dev MAP (no labelled dev reviews)")
            return
        self.map_series.append(QPointF(rec.epoch, rec.dev["MAP"]))
        self._values.append(rec.dev["MAP"])
        if "NDCG@3" in rec.dev:
            self.ndcg_series.append(QPointF(rec.epoch, rec.dev["NDCG@3"]))
            self._values.append(rec.dev["NDCG@3"])
        best = self._state.best_epoch
        self.best.clear()
        if best is not None:
            self.best.append(QPointF(best.epoch, best.dev["MAP"]))
            self.chart().setTitle(f"Dev MAP: best {best.dev['MAP']:.1f} (epoch {best.epoch})")
        fit(self.y_axis, self._values, pad=0.15, floor=0, ceil=100, minimum_span=4)

    def set_dark(self, dark: bool) -> None:
        style_chart(self, dark, (self.x_axis, self.y_axis))
        self.map_series.setPen(pen(DARK_MAIN if dark else LIGHT_MAIN, 2.4))
        self.map_series.setPointsVisible(True)
        self.ndcg_series.setPen(pen(NDCG_COLOR, 1.3, Qt.PenStyle.DashLine))
        self.reference.setPen(pen(BEST_COLOR, 1.2, Qt.PenStyle.DotLine))
        self.best.setColor(QColor(BEST_COLOR))
        self.best.setBorderColor(QColor(BEST_COLOR))
