"""The flag dialog's disputed sub-scores: one row per interaction, not disputed / too high / too low."""
from __future__ import annotations

from typing import Optional, Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QLabel, QWidget

from storage.records import SUBSCORE_NAMES, TOO_HIGH, TOO_LOW, Disputes, disputes_of

from ..models.formatting import fmt_float

CHOICES = ((None, "not disputed"), (TOO_HIGH, "too high"), (TOO_LOW, "too low"))
"""What each row offers: its data (the stored direction) and its text."""


class QtDisputeRows(QWidget):
    """Five rows "p_t r_t  (1.23)  [not disputed v]"; the combo boxes hold the only copy of the value.

    Signals
    -------
    changed()
        A row's choice changed.
    """

    changed = Signal()

    def __init__(self, disputes: Disputes = (), sub_scores: Sequence[Optional[float]] = (None,) * 5,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(2)
        self.combos: dict[str, QComboBox] = {}
        for row, (name, value) in enumerate(zip(SUBSCORE_NAMES, sub_scores)):
            label = QLabel(name, self)
            shown = QLabel("not scored" if value is None else f"model: {fmt_float(value, 2)}", self)
            shown.setObjectName("muted")
            combo = QComboBox(self)
            combo.setObjectName(f"dispute {name}")
            for data, text in CHOICES:
                combo.addItem(text, data)
            combo.setToolTip(f"Is the model's {name} sub-score wrong for this review, and which way?")
            label.setBuddy(combo)
            combo.currentIndexChanged.connect(self.changed)
            grid.addWidget(label, row, 0)
            grid.addWidget(shown, row, 1)
            grid.addWidget(combo, row, 2)
            self.combos[name] = combo
        grid.setColumnStretch(3, 1)
        self.set_disputes(disputes)

    def set_disputes(self, disputes: Disputes) -> None:
        wanted = dict(disputes_of(disputes))
        for name, combo in self.combos.items():
            combo.setCurrentIndex(max(0, combo.findData(wanted.get(name))))

    def disputes(self) -> Disputes:
        return disputes_of((name, combo.currentData()) for name, combo in self.combos.items())
