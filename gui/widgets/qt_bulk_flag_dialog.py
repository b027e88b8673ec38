"""The bulk flag dialog: one kind, label and note for many reviews, with the count before saving."""
from __future__ import annotations

from typing import Collection, Optional, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QPlainTextEdit, QWidget,
)

from storage.records import KEEP_LABEL

from ..bulk import BulkDraft, BulkPreview
from ..models.flag_kinds_model import RETIRED_SUFFIX
from .qt_flag_dialog import NO_LABEL, label_buttons

KEEP = 101  # beside the flag dialog's NO_LABEL (button ids must not be -1)


class QtBulkFlagDialog(QDialog):
    """Edits a :class:`~gui.bulk.BulkDraft` for ``scope`` (the reviews, in words). The apply
    button waits for :meth:`set_preview`: the user sees how many reviews it flags, and how many
    flags it edits, before confirming."""

    def __init__(self, scope: str, kinds: Sequence[str], retired: Collection[str] = (),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Bulk flag")
        self.preview: Optional[BulkPreview] = None
        self.scope = QLabel(f"Flag {scope}.", self)
        self.scope.setTextFormat(Qt.TextFormat.PlainText)  # the filter text is the user's
        self.scope.setWordWrap(True)
        self.kind = QComboBox(self)
        self.set_kinds(kinds, retired)
        self.labels = QButtonGroup(self)
        row = label_buttons(self, self.labels, (
            (KEEP, "keep", "Flags already there keep their corrected label; new ones get none"),
            (NO_LABEL, "none", "No corrected label (flags already there lose theirs)"),
        ))
        self.labels.button(KEEP).setChecked(True)
        self.note = QPlainTextEdit(self)
        self.note.setPlaceholderText("Why? (optional; left empty, flags already there keep their note)")
        self.note.setTabChangesFocus(True)
        self.note.setFixedHeight(80)
        self.count = QLabel("Counting the reviews\u2026", self, objectName="bulkPreview")
        self.count.setTextFormat(Qt.TextFormat.PlainText)
        self.count.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.apply_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.apply_button.setText("Flag reviews")
        self.apply_button.setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(self.scope)
        form.addRow("Kind", self.kind)
        form.addRow("Corrected label", row)
        form.addRow("Note", self.note)
        form.addRow(self.count)
        form.addRow(self.buttons)
        self.kind.setFocus()
        self.resize(500, self.sizeHint().height())

    def set_kinds(self, kinds: Sequence[str], retired: Collection[str] = ()) -> None:
        """Offer the active ``kinds`` (a batch cannot give a retired one); keep the chosen one."""
        chosen = self.current_kind() if self.kind.count() else None
        self.kind.clear()
        for name in kinds:
            if name not in retired:
                self.kind.addItem(name, name)
        self.kind.setCurrentIndex(max(0, self.kind.findData(chosen)))

    def rename_kind(self, old: str, new: str) -> None:
        for i in range(self.kind.count()):
            if self.kind.itemData(i) == old:
                self.kind.setItemData(i, new)
                self.kind.setItemText(i, new)

    def current_kind(self) -> str:
        data = self.kind.currentData()
        return data if isinstance(data, str) else self.kind.currentText().removesuffix(RETIRED_SUFFIX)

    def set_preview(self, preview: BulkPreview) -> None:
        """The counts: the apply button is enabled once they are in (and there is something to flag)."""
        self.preview = preview
        self.count.setText(preview.text)
        self.apply_button.setEnabled(preview.count > 0 and self.kind.count() > 0)

    def set_preview_failed(self, message: str) -> None:
        self.count.setText(f"Could not count the reviews: {message}")
        self.apply_button.setEnabled(False)

    def draft(self) -> BulkDraft:
        label = self.labels.checkedId()
        note = self.note.toPlainText().strip()
        return BulkDraft(self.current_kind(), KEEP_LABEL if label == KEEP else (None if label == NO_LABEL else label),
                         note or None).validated()
