"""The flag dialog: kind, optional corrected label 0-4, note."""
from __future__ import annotations

from typing import Optional, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QPlainTextEdit,
    QRadioButton, QWidget,
)

from storage.records import FLAG_KINDS

from ..state.flag_draft import LABELS, FlagDraft

NO_LABEL = 100  # QButtonGroup ids must not be -1 (that means "assign one")


class QtFlagDialog(QDialog):
    """Edits a :class:`FlagDraft`; :meth:`draft` reads it back after ``accept``."""

    def __init__(self, review_title: str, initial: Optional[FlagDraft] = None, kinds: Sequence[str] = FLAG_KINDS,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Flag review")
        initial = initial or FlagDraft()
        self._kinds = tuple(kinds)
        self.review = QLabel(self)
        self.review.setTextFormat(Qt.TextFormat.PlainText)  # user content
        self.review.setWordWrap(True)
        self.review.setText(review_title)
        self.kind = QComboBox(self)
        self.kind.addItems(list(self._kinds))
        self.kind.setCurrentIndex(max(0, self.kind.findText(initial.kind)))
        self.labels = QButtonGroup(self)
        row = QHBoxLayout()
        none = QRadioButton("none", self)
        self.labels.addButton(none, NO_LABEL)
        row.addWidget(none)
        for value in LABELS:
            button = QRadioButton(str(value), self)
            button.setToolTip(f"Corrected helpfulness label {value}")
            self.labels.addButton(button, value)
            row.addWidget(button)
        row.addStretch(1)
        checked = self.labels.button(NO_LABEL if initial.corrected_label is None else initial.corrected_label)
        checked.setChecked(True)
        self.note = QPlainTextEdit(self)
        self.note.setPlaceholderText("Why? (optional)")
        self.note.setPlainText(initial.note)
        self.note.setTabChangesFocus(True)
        self.note.setFixedHeight(80)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Review", self.review)
        form.addRow("Kind", self.kind)
        form.addRow("Corrected label", row)
        form.addRow("Note", self.note)
        form.addRow(buttons)
        self.kind.setFocus()
        self.resize(460, self.sizeHint().height())

    def draft(self) -> FlagDraft:
        label = self.labels.checkedId()
        return FlagDraft(
            self.kind.currentText(), None if label == NO_LABEL else label, self.note.toPlainText()
        ).validated(self._kinds)
