"""One line for the background scoring job: what scores, how far, how long still."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget

from .scoring_state import ScoreJobState
from .state import Progress, RunStatus, format_duration


class QtScoreProgress(QWidget):
    """Binds to :class:`ScoreJobState`; visible while a job runs and after it failed."""

    def __init__(self, state: ScoreJobState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.label = QLabel(self, objectName="muted")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.bar = QProgressBar(self)
        self.bar.setMaximumHeight(12)
        self.bar.setTextVisible(False)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label, 2)
        row.addWidget(self.bar, 1)
        state.events.status.connect(self._on_changed)
        state.events.progress.connect(self._on_changed)
        state.events.eta_s.connect(self._on_changed)
        self._on_changed()

    def _on_changed(self, _value=None) -> None:
        s = self._state
        p: Progress = s.progress
        if s.status.active:
            eta = format_duration(s.eta_s)
            self.label.setText(f"Rescoring: {p.label}" + (f", ETA {eta}" if eta else ""))
            if p.total > 0:
                self.bar.setRange(0, p.total)
                self.bar.setValue(p.done)
            else:
                self.bar.setRange(0, 0)
        elif s.status is RunStatus.FAILED:
            self.label.setText(f"Rescoring failed: {s.error}")
        elif s.status is RunStatus.CANCELLED:
            self.label.setText(f"Rescoring cancelled: {s.done} of {s.total} reviews scored (kept), "
                               f"{max(0, s.total - s.done)} not scored")
        elif s.status is RunStatus.SUCCEEDED and s.outcome is not None:
            self.label.setText(f"Rescored {s.outcome.scored} reviews with {s.outcome.model} in {s.outcome.seconds:.1f} s")
        self.bar.setVisible(s.status.active)
        self.setVisible(s.status is not RunStatus.IDLE)
