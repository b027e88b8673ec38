"""The run's log: engine events in words, warnings and errors from its stderr."""
from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from .state import MAX_LOG_LINES, TrainingRunState


class QtRunLog(QPlainTextEdit):
    """Read-only; follows :class:`TrainingRunState` ``log_line`` (and any other source
    connected to :meth:`append_line`, e.g. the scoring job)."""

    def __init__(self, state: TrainingRunState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setObjectName("trainingLog")
        self.setMaximumBlockCount(MAX_LOG_LINES)  # bounded: appending stays O(1)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.9))
        self.setFont(font)
        self.setPlaceholderText("The trainer's log appears here.")
        state.events.log_line.connect(self.append_line)

    def append_line(self, line: str) -> None:
        bar = self.verticalScrollBar()
        follow = bar.value() >= bar.maximum() - 2  # keep following unless the user scrolled up
        self.appendPlainText(line)
        if follow:
            bar.setValue(bar.maximum())
