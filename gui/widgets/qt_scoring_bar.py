"""The bar above the review table: an offer to score what an import left unscored, then the
scoring job's progress (done of total, percent, time left, Cancel) and how it ended."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from ..training.scoring_state import ScoreJobState
from ..training.state import RunStatus


class QtScoringBar(QFrame):
    """Binds to the shared :class:`ScoreJobState`; hidden when it has nothing to say.

    What it shows, first that applies: a running job (its line, a bar, Cancel); an offer
    (:meth:`offer`: "Score now" / "Later"); how the last job it showed ended (Close; after a
    cancel also "Score the rest").

    Signals
    -------
    score_requested()
        "Score now" on an offer.
    rest_requested()
        "Score the rest" after a cancelled job.
    cancel_requested()
        Cancel of the running job.
    declined()
        "Later" on an offer.
    """

    score_requested = Signal()
    rest_requested = Signal()
    cancel_requested = Signal()
    declined = Signal()

    def __init__(self, state: ScoreJobState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scoringBar")
        self._state = state
        self._offer: Optional[str] = None
        self._show_end = False  # a job was shown running: say how it ended until closed
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.bar = QProgressBar(self)
        self.bar.setMaximumWidth(160)
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        self.score_button = QPushButton("Score now", self)
        self.later_button = QPushButton("Later", self)
        self.later_button.setToolTip("Model > Score unscored reviews scores them any time")
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop after the batch being written: scored reviews keep their scores")
        self.rest_button = QPushButton("Score the rest", self)
        self.close_button = QPushButton("Close", self)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 3, 6, 3)
        row.addWidget(self.label, 1)
        row.addWidget(self.bar)
        for b in (self.score_button, self.later_button, self.cancel_button, self.rest_button, self.close_button):
            row.addWidget(b)
        self.score_button.clicked.connect(self._on_score)
        self.rest_button.clicked.connect(self._on_rest)
        self.later_button.clicked.connect(self._on_later)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.close_button.clicked.connect(self.close_end)
        for event in (state.events.status, state.events.progress, state.events.eta_s):
            event.connect(self._on_state)
        self._refresh()

    # ------------------------------------------------------------ inputs

    def offer(self, text: str) -> None:
        """Offer to score (shown once no job runs): ``text`` says what and how many."""
        self._offer = text
        self._refresh()

    def withdraw(self) -> None:
        """Drop the offer (its reviews are scored or being scored)."""
        self._offer = None
        self._refresh()

    def close_end(self) -> None:
        self._show_end = False
        self._refresh()

    @property
    def offering(self) -> bool:
        return self._offer is not None

    @property
    def mode(self) -> str:
        """``"running"``, ``"offer"``, ``"ended"`` or ``""`` (hidden)."""
        if self._state.status.active:
            return "running"
        if self._offer is not None:
            return "offer"
        if self._show_end and self._state.end_line():
            return "ended"
        return ""

    # ------------------------------------------------------------ state -> widgets

    def _on_score(self) -> None:
        self._offer = None
        self._show_end = False
        self.score_requested.emit()
        self._refresh()

    def _on_rest(self) -> None:
        self._show_end = False
        self.rest_requested.emit()
        self._refresh()

    def _on_later(self) -> None:
        self._offer = None
        self._refresh()
        self.declined.emit()

    def _on_state(self, _value=None) -> None:
        if self._state.status.active:
            self._show_end = True
        self._refresh()

    def _refresh(self) -> None:
        s, mode = self._state, self.mode
        if mode == "running":
            self.label.setText(s.job_line())
            if s.total > 0:
                self.bar.setRange(0, s.total)
                self.bar.setValue(min(s.done, s.total))
            else:
                self.bar.setRange(0, 0)
        elif mode == "offer":
            self.label.setText(self._offer or "")
        elif mode == "ended":
            self.label.setText(s.end_line())
        self.bar.setVisible(mode == "running")
        self.cancel_button.setVisible(mode == "running")
        self.cancel_button.setEnabled(s.status in (RunStatus.STARTING, RunStatus.RUNNING))
        self.score_button.setVisible(mode == "offer")
        self.later_button.setVisible(mode == "offer")
        self.rest_button.setVisible(mode == "ended" and s.status is RunStatus.CANCELLED and s.total > s.done)
        self.close_button.setVisible(mode == "ended")
        self.setVisible(bool(mode))
