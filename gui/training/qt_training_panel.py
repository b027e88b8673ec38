"""The training panel: set up a run, start / cancel / restart it, watch it live.

It composes its controls and wires their signals; the run itself is a ``python -m engine
train`` subprocess driven by :class:`~gui.training.controller.QtTrainingController`.
"""
from __future__ import annotations

from typing import Optional, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QTabWidget, QVBoxLayout, QWidget

from ..state.app_state import AppState
from ..store import Store
from ..theme import icon
from . import queries
from .controller import QtTrainingController
from .qt_advanced_options import QtAdvancedOptions
from .qt_chart_legend import QtChartLegend
from .qt_loss_chart import QtLossChart
from .qt_metric_chart import QtDevMetricChart
from .qt_pseudo_label_chart import QtPseudoLabelChart
from .qt_run_log import QtRunLog
from .qt_run_progress import QtRunProgress
from .qt_score_progress import QtScoreProgress
from .qt_training_setup import QtTrainingSetup
from .scoring import QtScoringController
from .setup import TrainingSetup
from .state import RunStatus


class QtTrainingPanel(QWidget):
    """Training dock contents.

    Parameters
    ----------
    store : Store
        For the data summary and past runs (read in workers).
    app_state : AppState
        The active model (the default starting point) and the theme.
    scoring : QtScoringController
        The shared background scorer (its progress shows here).
    command : sequence of str, optional
        Engine program (default ``python -m engine``; tests pass a fake).

    Signals
    -------
    trained(object)
        A run registered a model (:class:`~gui.training.state.TrainingOutcome`).
    """

    trained = Signal(object)

    def __init__(self, store: Store, app_state: AppState, scoring: QtScoringController,
                 command: Optional[Sequence[str]] = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._held = False  # reloads put off while a database opens (hold / release)
        self._reload_due = False
        self._app = app_state
        self._info = queries.TrainingInfo(None)
        self._advanced: Optional[QtAdvancedOptions] = None
        self.setup = TrainingSetup()
        # A scoring job writes predictions batch after batch: no run starts until it has ended.
        self.controller = QtTrainingController(self.setup, command, self, blocked_by=scoring.state.writing_reason)
        self.state = self.controller.state
        self.scoring = scoring

        self.form = QtTrainingSetup(self.setup, self)
        self.loss_chart = QtLossChart(self.state, self)
        self.map_chart = QtDevMetricChart(self.state, self)
        self.pseudo_mean_chart = QtPseudoLabelChart(self.state, "mean", self)
        self.pseudo_std_chart = QtPseudoLabelChart(self.state, "std", self)
        self.legend = QtChartLegend(self)
        self.progress = QtRunProgress(self.state, self)
        self.score_progress = QtScoreProgress(scoring.state, self)
        self.log = QtRunLog(self.state, self)
        self.blocked_label = QLabel(self, objectName="muted")
        self.blocked_label.setTextFormat(Qt.TextFormat.PlainText)
        self.blocked_label.setWordWrap(True)
        self.blocked_label.hide()
        self.start_button = QPushButton(icon("training"), "Start training", self)
        self.start_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel", self)
        self.restart_button = QPushButton("Restart", self)
        self.cancel_button.setToolTip("Stop after the current step; nothing is registered")
        self.restart_button.setToolTip("Run the last run again (a running one is cancelled first)")

        charts = QSplitter(Qt.Orientation.Horizontal, self)
        for chart in self.charts:
            charts.addWidget(chart)
        charts.setChildrenCollapsible(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 1)
        for b in (self.start_button, self.cancel_button, self.restart_button):
            buttons.addWidget(b, 0, Qt.AlignmentFlag.AlignTop)
        chart_page = QWidget(self)
        page = QVBoxLayout(chart_page)
        page.setContentsMargins(0, 0, 0, 0)
        page.setSpacing(3)
        page.addWidget(self.legend)
        page.addWidget(charts, 1)
        # The charts and the run's log share the space as two tabs: beside the charts the log
        # was a 60 px column of wrapped words on a 1280 px screen. A failed run shows its log.
        self.views = QTabWidget(self)
        self.views.setDocumentMode(True)
        self.views.setTabPosition(QTabWidget.TabPosition.West)  # costs width, not the charts' height
        self.views.addTab(chart_page, "Charts")
        self.views.addTab(self.log, "Log")
        middle = QWidget(self)
        mid = QVBoxLayout(middle)
        mid.setContentsMargins(0, 0, 0, 0)
        mid.setSpacing(3)
        mid.addWidget(self.views, 1)
        mid.addLayout(buttons)
        mid.addWidget(self.blocked_label)
        mid.addWidget(self.score_progress)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.form)
        self.splitter.addWidget(middle)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([360, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.splitter)

        self.start_button.clicked.connect(self._on_start_clicked)
        self.cancel_button.clicked.connect(self.cancel)
        self.restart_button.clicked.connect(self.restart)
        self.form.advanced_requested.connect(self.open_advanced_options)
        self.controller.succeeded.connect(self._on_succeeded)
        self.controller.ended.connect(lambda _s: self.reload())
        self.state.events.status.connect(self._on_status_changed)
        scoring.state.events.log_line.connect(self.log.append_line)
        scoring.state.events.status.connect(self._on_scoring_changed)
        scoring.state.events.progress.connect(self._on_scoring_changed)
        app_state.events.active_model.connect(lambda _m: self.reload())
        app_state.events.theme.connect(self._on_theme_changed)
        self._on_scoring_changed()
        self._on_theme_changed(app_state.theme)

    # ------------------------------------------------------------ inputs

    def reload(self) -> None:
        """Refresh the data summary, the model to start from and past runs (in a worker); while
        held (:meth:`hold`), once on :meth:`release` instead."""
        if self._held:
            self._reload_due = True
            return
        self._store.call(queries.load_training_info, background=True, on_result=self._on_info)

    def hold(self) -> None:
        """Put reloads off (a database is opening: its first page comes first), one reload due."""
        self._held, self._reload_due = True, True

    def release(self) -> None:
        """End :meth:`hold`: reload now if a reload was asked for meanwhile."""
        if not self._held:
            return
        self._held = False
        if self._reload_due:
            self._reload_due = False
            self.reload()

    def _on_info(self, info: queries.TrainingInfo) -> None:
        self._info = info
        self.form.set_info(info)

    def set_device(self, device: str, cuda) -> None:
        self.form.set_device(device, cuda)

    def set_catalog(self, catalog) -> None:
        self.setup.catalog = catalog

    # ------------------------------------------------------------ actions

    def blocked_reason(self) -> str:
        """Why no run may start now ('' when one may)."""
        return self.scoring.state.writing_reason()

    def start(self) -> bool:
        """Start a run with the current setup; False when none can start now (while a scoring
        job writes, :attr:`blocked_label` says why)."""
        db = self._store.db
        if db is None or self.controller.running:
            return False
        if self.blocked_reason():
            self._on_scoring_changed()
            return False
        parent = self._info.active if self.form.continuing else None
        dev = parent.metrics.get("dev") if parent is not None and isinstance(parent.metrics.get("dev"), dict) else {}
        self.map_chart.set_reference(dev.get("MAP") if isinstance(dev.get("MAP"), (int, float)) else None)
        return self.controller.start(db.url, parent.name if parent is not None else None)

    def cancel(self) -> bool:
        return self.controller.cancel()

    def restart(self) -> bool:
        return self.controller.restart()

    def shutdown(self) -> None:
        self.controller.shutdown()

    def open_advanced_options(self) -> QtAdvancedOptions:
        parent_config = self._info.active.config if (self.form.continuing and self._info.active) else None
        dialog = QtAdvancedOptions(self.setup, self.form.continuing, parent_config, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._advanced = dialog
        dialog.open()
        return dialog

    def _on_start_clicked(self) -> None:
        self.start()

    # ------------------------------------------------------------ state -> widgets

    def _on_status_changed(self, status: RunStatus) -> None:
        blocked = bool(self.blocked_reason())
        self.start_button.setEnabled(not status.active and not blocked)
        self.cancel_button.setEnabled(status in (RunStatus.STARTING, RunStatus.RUNNING))
        self.restart_button.setEnabled(status is not RunStatus.IDLE and not (blocked and not status.active))
        self.form.setEnabled(not status.active)
        if status is RunStatus.FAILED:
            self.views.setCurrentWidget(self.log)

    def _on_scoring_changed(self, _value=None) -> None:
        reason = self.blocked_reason()
        self.blocked_label.setText(reason)
        self.blocked_label.setVisible(bool(reason))
        tip = reason or ""
        self.start_button.setToolTip(tip)
        self.restart_button.setToolTip(tip or "Run the last run again (a running one is cancelled first)")
        self._on_status_changed(self.state.status)

    def _on_succeeded(self, outcome) -> None:
        self.trained.emit(outcome)

    @property
    def charts(self) -> tuple:
        return self.loss_chart, self.map_chart, self.pseudo_mean_chart, self.pseudo_std_chart

    def _on_theme_changed(self, theme: str) -> None:
        for chart in self.charts:
            chart.set_dark(theme == "dark")
        self.legend.set_dark(theme == "dark")
