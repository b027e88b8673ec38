"""Text search and switches over the review table, bound to ``ReviewTableState.filter``."""
from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, QTimer
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLineEdit, QWidget

from storage.records import ReviewFilter

from ..state.review_table import ReviewTableState
from ..theme import icon

_SWITCHES = (
    ("only_flagged", "Only flagged", "Show reviews with an active flag"),
    ("only_disagreements", "Only disagreements", "Show reviews the model ranks above or below their vote label"),
    ("has_images", "Has images", "Show reviews with at least one image"),
)


class QtReviewFilterBar(QWidget):
    """Search box (applied after a short pause in typing) and three check boxes."""

    DEBOUNCE_MS = 250

    def __init__(self, state: ReviewTableState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search reviews\u2026")
        self.search.setClearButtonEnabled(True)
        self.search.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self._debounce = QTimer(self, singleShot=True, interval=self.DEBOUNCE_MS)
        self._debounce.timeout.connect(self._on_search_settled)
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.search.returnPressed.connect(self._on_search_settled)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search, 1)
        self.switches: dict[str, QCheckBox] = {}
        for attr, text, tip in _SWITCHES:
            box = QCheckBox(text, self)
            box.setToolTip(tip)
            box.toggled.connect(lambda checked, a=attr: self._on_switch_toggled(a, checked))
            layout.addWidget(box)
            self.switches[attr] = box
        state.events.filter.connect(self._on_filter_changed)
        self._on_filter_changed(state.filter)

    def _on_search_settled(self) -> None:
        self._debounce.stop()
        self._state.update_filter(text=self.search.text().strip())

    def _on_switch_toggled(self, attr: str, checked: bool) -> None:
        self._state.update_filter(**{attr: checked})

    def _on_filter_changed(self, flt: ReviewFilter) -> None:
        if self.search.text().strip() != flt.text:
            with QSignalBlocker(self.search):
                self.search.setText(flt.text)
        for attr, box in self.switches.items():
            with QSignalBlocker(box):
                box.setChecked(getattr(flt, attr))
