"""The comparison's drift part: how B's score and sub-scores differ from A's on the reviews
nobody flagged (quantile plot of one series, a summary of all six, the reviews that moved most,
the moved share per category)."""
from __future__ import annotations

from html import escape
from typing import Optional

from PySide6.QtCharts import QChartView, QLineSeries
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QSizePolicy, QSplitter, QTableView, QTabWidget, QVBoxLayout, QWidget,
)

from ..training.chart_style import STEP_COLOR, fit, new_chart, pen, style_chart, value_axis
from .drift import SERIES, Drift, SeriesDrift
from .state import ModelsViewState
from .table_models import drift_category_table, drift_movers_table, drift_summary_table

# A and B: the same two colours in every chart of the drift part, a lighter pair on the dark background
A_COLORS = {False: "#1f77b4", True: "#8cc4f0"}
B_COLORS = {False: "#d6482b", True: "#ffa07a"}
NO_PAIR = "Select one model (compared with its parent) or two models to see how their scores drift."


class QtDriftChart(QChartView):
    """The selected series' quantiles (every 5 %) under A and under B, and where their
    distributions differ most (KS), as a dashed level."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(new_chart(""), parent)
        self.setMinimumSize(200, 120)
        chart = self.chart()
        chart.legend().setVisible(False)  # the legend is a label above the chart (room for the plot)
        self.x_axis = value_axis("quantile (%)", "%.0f")
        self.x_axis.setRange(0, 100)
        self.y_axis = value_axis("", "%.1f")
        chart.addAxis(self.x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self.y_axis, Qt.AlignmentFlag.AlignLeft)
        self.a_line, self.b_line, self.ks_line = QLineSeries(), QLineSeries(), QLineSeries()
        for series, name in ((self.a_line, "A"), (self.b_line, "B"), (self.ks_line, "largest CDF gap")):
            series.setName(name)
            chart.addSeries(series)
            series.attachAxis(self.x_axis)
            series.attachAxis(self.y_axis)
        self._dark = False
        self.set_dark(False)

    def show_series(self, s: Optional[SeriesDrift], quantiles, a_name: str = "A", b_name: str = "B") -> None:
        for line in (self.a_line, self.b_line, self.ks_line):
            line.clear()
        self.setToolTip(s.sentence if s is not None else "")
        if s is None or not s.n:
            return
        xs = [q * 100 for q in quantiles]
        self.a_line.replace([QPointF(x, y) for x, y in zip(xs, s.quantiles_a)])
        self.b_line.replace([QPointF(x, y) for x, y in zip(xs, s.quantiles_b)])
        self.a_line.setName(f"A: {a_name}")
        self.b_line.setName(f"B: {b_name}")
        if not s.flat:
            self.ks_line.replace([QPointF(0, s.ks_at), QPointF(100, s.ks_at)])
            self.ks_line.setName(f"largest CDF gap: D = {s.ks_d:.2f} near {s.ks_at:.2f}")
        fit(self.y_axis, [*s.quantiles_a, *s.quantiles_b], pad=0.1, minimum_span=0.5)
        self.y_axis.applyNiceNumbers()
        self.ks_line.setVisible(not s.flat)

    def set_dark(self, dark: bool) -> None:
        self._dark = dark
        style_chart(self, dark, (self.x_axis, self.y_axis))
        self.a_line.setPen(pen(A_COLORS[dark], 2.0))
        self.b_line.setPen(pen(B_COLORS[dark], 2.0))
        self.ks_line.setPen(pen(STEP_COLOR, 1.2, Qt.PenStyle.DashLine))
        for line in (self.a_line, self.b_line):
            line.setPointsVisible(True)


def _caption(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent, objectName="muted")
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def _column(parent: QWidget, *widgets, stretch_last: bool = True) -> QWidget:
    box = QWidget(parent)
    col = QVBoxLayout(box)
    col.setContentsMargins(0, 0, 0, 0)
    col.setSpacing(2)
    for i, w in enumerate(widgets):
        col.addWidget(w, 1 if stretch_last and i == len(widgets) - 1 else 0)
    return box


class QtDrift(QWidget):
    """Binds to :class:`ModelsViewState` ``drift``, ``drifting`` and ``drift_series``.

    Signals
    -------
    review_requested(int, int)
        Double click on a review that moved: its product's and its own primary key.
    """

    review_requested = Signal(int, int)

    def __init__(self, state: ModelsViewState, table_factory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._dark = False
        self.title = _caption(NO_PAIR, self)
        self.title.setWordWrap(True)
        self.series_box = QComboBox(self)
        self.series_box.addItems(list(SERIES))
        self.series_box.setToolTip("The series whose quantiles and movers are shown")
        self.chart = QtDriftChart(self)
        self.sentence = QLabel("", self)
        self.sentence.setTextFormat(Qt.TextFormat.PlainText)
        self.sentence.setWordWrap(True)
        self.sentence.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.summary_model = drift_summary_table(self)
        self.movers_model = drift_movers_table(self)
        self.category_model = drift_category_table(self)
        self.summary_view: QTableView = table_factory(self, self.summary_model)
        self.movers_view: QTableView = table_factory(self, self.movers_model, elide=1, elide_width=140)
        self.category_view: QTableView = table_factory(self, self.category_model, elide=0, elide_width=110)
        self.movers_view.doubleClicked.connect(self._on_mover_activated)
        self.summary_view.clicked.connect(self._on_summary_clicked)

        self.legend = QLabel(self)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setToolTip("The dashed level: the value where A's and B's distributions differ most (KS)")
        picker = QWidget(self)
        row = QHBoxLayout(picker)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(_caption("Series", picker))
        row.addWidget(self.series_box)
        row.addWidget(self.legend, 1)
        left = _column(self, picker, self.chart)
        self.movers_tabs = QTabWidget(self)
        self.movers_tabs.setDocumentMode(True)
        self.movers_tabs.addTab(self.movers_view, "Moved most")
        self.movers_tabs.addTab(self.category_view, "Per category")
        self.movers_tabs.setTabToolTip(0, "The reviews of the selected series that moved most (double click: open)")
        self.movers_tabs.setTabToolTip(1, "Share of each category's reviews that moved, per series")
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        for w in (left, _column(self, _caption("All six series (hover a row: in words)", self), self.summary_view),
                  self.movers_tabs):
            self.splitter.addWidget(w)
        self.splitter.setSizes([270, 340, 330])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.sentence)

        self.series_box.currentTextChanged.connect(self._on_series_picked)
        state.events.drift.connect(self._on_drift_changed)
        state.events.drifting.connect(self._on_drifting_changed)
        state.events.drift_series.connect(self._on_series_changed)
        self._on_drift_changed(state.drift)

    # ------------------------------------------------------------ state -> widgets

    def _on_drifting_changed(self, busy: bool) -> None:
        if busy and self._state.drift is None:
            self.title.setText("Measuring drift on the unflagged reviews\u2026")

    def _on_drift_changed(self, drift: Optional[Drift]) -> None:
        if drift is None:
            self.title.setText("Measuring drift on the unflagged reviews\u2026" if self._state.drifting else NO_PAIR)
            for m in (self.summary_model, self.movers_model, self.category_model):
                m.set_rows([])
            self.movers_tabs.setTabVisible(1, False)
            self._on_series_changed(self._state.drift_series)
            return
        if drift.n:
            score = drift.series[0]
            self.title.setText(
                f"{drift.n:,} reviews scored by both and not flagged. Moved: |B \u2212 A| > 1 label step "
                f"(the score, not on the label scale: > 1 std of A's scores, {score.threshold:.2f}).")
        else:
            self.title.setText("No unflagged review is scored by both models. Score both to see how they drift.")
        self._update_legend()
        self.summary_model.set_rows(drift.series)
        self.category_model.set_rows(drift.categories)
        self.movers_tabs.setTabVisible(1, bool(drift.categories))
        self._on_series_changed(self._state.drift_series)

    def _on_series_changed(self, name: str) -> None:
        if self.series_box.currentText() != name:
            self.series_box.setCurrentText(name)
        drift: Optional[Drift] = self._state.drift
        s = drift.get(name) if drift is not None else None
        self.chart.show_series(s, drift.quantiles if drift is not None else (),
                               drift.a_name if drift else "A", drift.b_name if drift else "B")
        self.sentence.setText(s.sentence if s is not None else "")
        self.movers_model.set_rows(s.movers if s is not None else [])
        self.movers_tabs.setTabText(0, f"{name}: moved most")
        row = SERIES.index(name) if name in SERIES else -1
        if drift is not None and row >= 0:
            index = self.summary_view.model().mapFromSource(self.summary_model.index(row, 0))
            self.summary_view.selectRow(index.row())

    # ------------------------------------------------------------ widgets -> state

    def _on_series_picked(self, name: str) -> None:
        if name:
            self._state.drift_series = name

    def _on_summary_clicked(self, index) -> None:
        rec = self.summary_model.record(self.summary_view.model().mapToSource(index).row())
        if rec is not None:
            self._state.drift_series = rec.name

    def _on_mover_activated(self, index) -> None:
        mover = self.movers_model.record(self.movers_view.model().mapToSource(index).row())
        if mover is not None:
            self.review_requested.emit(mover.product_pk, mover.review_pk)

    def set_dark(self, dark: bool) -> None:
        self.chart.set_dark(dark)
        self._dark = dark
        self._update_legend()

    def _update_legend(self) -> None:
        drift: Optional[Drift] = self._state.drift
        a, b = (drift.a_name, drift.b_name) if drift is not None else ("", "")
        dark = self._dark
        self.legend.setText(
            f'<span style="color:{A_COLORS[dark]}">\u25a0</span> A {escape(a)} &nbsp; '
            f'<span style="color:{B_COLORS[dark]}">\u25a0</span> B {escape(b)} &nbsp; '
            f'<span style="color:{STEP_COLOR}">- -</span> largest gap')
