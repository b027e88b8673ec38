"""Progress bar, ETA, throughput and what the trainer is doing now."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QWidget

from .state import Progress, RunStatus, TrainingRunState, format_duration

STATUS_TEXT = {
    RunStatus.IDLE: "No run yet",
    RunStatus.STARTING: "Starting",
    RunStatus.RUNNING: "Training",
    RunStatus.CANCELLING: "Cancelling",
    RunStatus.SUCCEEDED: "Finished",
    RunStatus.CANCELLED: "Cancelled",
    RunStatus.FAILED: "Failed",
}


class QtRunProgress(QWidget):
    """Binds to :class:`TrainingRunState` (``status``, ``stage``, ``progress``, ``eta_s``, ``samples_per_s``)."""

    def __init__(self, state: TrainingRunState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.status_label = QLabel(self, objectName="paneTitle")
        self.bar = QProgressBar(self)
        self.bar.setTextVisible(True)
        self.eta = QLabel(self)
        self.rate = QLabel(self, objectName="muted")
        self.stage = QLabel(self, objectName="muted")
        for label in (self.status_label, self.eta, self.rate, self.stage):
            label.setTextFormat(Qt.TextFormat.PlainText)
        self.stage.setWordWrap(True)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.status_label, 0, 0)
        grid.addWidget(self.bar, 0, 1)
        grid.addWidget(self.eta, 0, 2)
        grid.addWidget(self.rate, 0, 3)
        grid.addWidget(self.stage, 1, 0, 1, 4)
        grid.setColumnStretch(1, 1)
        state.events.status.connect(self._on_status_changed)
        state.events.stage.connect(self._on_stage_changed)
        state.events.progress.connect(self._on_progress_changed)
        state.events.eta_s.connect(self._on_eta_changed)
        state.events.samples_per_s.connect(self._on_rate_changed)
        self._on_status_changed(state.status)
        self._on_stage_changed(state.stage)
        self._on_progress_changed(state.progress)
        self._on_eta_changed(state.eta_s)
        self._on_rate_changed(state.samples_per_s)

    def _on_status_changed(self, status: RunStatus) -> None:
        self.status_label.setText(STATUS_TEXT[status])
        self.status_label.setProperty("failed", status is RunStatus.FAILED)
        self.status_label.setStyleSheet("color: #c0392b;" if status is RunStatus.FAILED else "")

    def _on_stage_changed(self, stage: str) -> None:
        self.stage.setText(stage)
        self.stage.setToolTip(stage)

    def _on_progress_changed(self, progress: Progress) -> None:
        if progress.total <= 0 and self._state.status.active:
            self.bar.setRange(0, 0)  # busy: no count to show
        else:
            self.bar.setRange(0, max(progress.total, 1))
            self.bar.setValue(min(progress.done, max(progress.total, 1)))
        self.bar.setFormat(f"{progress.label}  %p%" if progress.total > 0 and progress.label else "%p%")
        self.bar.setToolTip(progress.label)

    def _on_eta_changed(self, eta) -> None:
        self.eta.setText(f"ETA {format_duration(eta)}" if eta is not None else "")

    def _on_rate_changed(self, rate) -> None:
        self.rate.setText(f"{rate:.1f} reviews/s" if rate else "")
