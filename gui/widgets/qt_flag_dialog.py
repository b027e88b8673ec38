"""The flag dialog: kind, optional corrected label 0-4, disputed sub-scores, note."""
from __future__ import annotations

from typing import Collection, Optional, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QButtonGroup, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton,
    QRadioButton, QWidget,
)

from storage.records import FLAG_KINDS, SUBSCORE_WRONG

from ..models.flag_kinds_model import RETIRED_SUFFIX
from ..state.flag_draft import LABELS, NEEDS_DISPUTE, FlagDraft
from .qt_dispute_rows import QtDisputeRows

NO_LABEL = 100  # QButtonGroup ids must not be -1 (that means "assign one")


class QtFlagDialog(QDialog):
    """Edits a :class:`FlagDraft`; :meth:`draft` reads it back after ``accept``.

    ``kinds`` are the kinds offered (the window passes the store's active kinds, plus the kind
    of the flag being edited); those in ``retired`` are shown as such (a flag keeps a retired
    kind, no other flag can get it). ``sub_scores``: the model's five, shown beside the disputes.
    Save is disabled while the kind is "sub-score wrong" and no sub-score is disputed.

    Signals
    -------
    manage_requested()
        "Manage kinds..." was clicked.
    """

    manage_requested = Signal()

    def __init__(self, review_title: str, initial: Optional[FlagDraft] = None, kinds: Sequence[str] = FLAG_KINDS,
                 parent: QWidget | None = None, retired: Collection[str] = (),
                 sub_scores: Sequence[Optional[float]] = (None,) * 5) -> None:
        super().__init__(parent)
        self.setWindowTitle("Flag review")
        self.kept_kind: Optional[str] = initial.kind if initial is not None else None
        """The kind of the flag being edited: offered even when it is retired."""
        initial = initial or FlagDraft()
        self._kinds: tuple[str, ...] = ()
        self.review = QLabel(self)
        self.review.setTextFormat(Qt.TextFormat.PlainText)  # user content
        self.review.setWordWrap(True)
        self.review.setText(review_title)
        self.kind = QComboBox(self)
        self.set_kinds(kinds, retired, current=initial.kind)
        self.manage = QPushButton("Manage kinds\u2026", self)
        self.manage.setToolTip("Add, rename, retire or restore flag kinds")
        self.manage.setAutoDefault(False)
        self.manage.clicked.connect(self.manage_requested)
        kind_row = QHBoxLayout()
        kind_row.addWidget(self.kind, 1)
        kind_row.addWidget(self.manage)
        self.labels = QButtonGroup(self)
        row = label_buttons(self, self.labels, ((NO_LABEL, "none", ""),))
        checked = self.labels.button(NO_LABEL if initial.corrected_label is None else initial.corrected_label)
        checked.setChecked(True)
        self.note = QPlainTextEdit(self)
        self.note.setPlaceholderText("Why? (optional)")
        self.note.setPlainText(initial.note)
        self.note.setTabChangesFocus(True)
        self.note.setFixedHeight(80)
        self.disputes = QtDisputeRows(initial.interactions, sub_scores, self)
        self.dispute_hint = QLabel(NEEDS_DISPUTE, self)
        self.dispute_hint.setObjectName("muted")
        self.dispute_hint.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        form = QFormLayout(self)
        form.addRow("Review", self.review)
        form.addRow("Kind", kind_row)
        form.addRow("Corrected label", row)
        form.addRow("Sub-scores", self.disputes)
        form.addRow("", self.dispute_hint)
        form.addRow("Note", self.note)
        form.addRow(buttons)
        self.kind.currentIndexChanged.connect(self._update_save)
        self.disputes.changed.connect(self._update_save)
        self._update_save()
        self.kind.setFocus()
        self.resize(480, self.sizeHint().height())

    def _update_save(self, *_args) -> None:
        missing = self.current_kind() == SUBSCORE_WRONG and not self.disputes.disputes()
        self.save_button.setEnabled(not missing)
        self.dispute_hint.setVisible(missing)

    def set_kinds(self, kinds: Sequence[str], retired: Collection[str] = (), current: Optional[str] = None) -> None:
        """Offer ``kinds``; keep the chosen one (``current``, else the one chosen now) when it is
        still offered, else choose the first."""
        chosen = current if current is not None else self.current_kind()
        self._kinds = tuple(kinds)
        self.kind.clear()
        grey = self.palette().color(QPalette.ColorRole.PlaceholderText)
        italic = QFont(self.font())
        italic.setItalic(True)
        for name in self._kinds:
            self.kind.addItem(name + (RETIRED_SUFFIX if name in retired else ""), name)
            if name in retired:
                i = self.kind.count() - 1
                self.kind.setItemData(i, grey, Qt.ItemDataRole.ForegroundRole)
                self.kind.setItemData(i, italic, Qt.ItemDataRole.FontRole)
                self.kind.setItemData(i, "Retired: this flag keeps it, but once changed it cannot be chosen again",
                                      Qt.ItemDataRole.ToolTipRole)
        self.kind.setCurrentIndex(max(0, self.kind.findData(chosen)))

    def rename_kind(self, old: str, new: str) -> None:
        """A kind was renamed in the store: show and keep it under its new name."""
        self._kinds = tuple(new if k == old else k for k in self._kinds)
        if self.kept_kind == old:
            self.kept_kind = new
        for i in range(self.kind.count()):
            if self.kind.itemData(i) == old:
                self.kind.setItemData(i, new)
                self.kind.setItemText(i, self.kind.itemText(i).replace(old, new, 1))

    def current_kind(self) -> str:
        """The kind chosen (its name, without "(retired)")."""
        data = self.kind.currentData()
        return data if isinstance(data, str) else self.kind.currentText()

    def draft(self) -> FlagDraft:
        label = self.labels.checkedId()
        return FlagDraft(
            self.current_kind(), None if label == NO_LABEL else label, self.note.toPlainText(), self.disputes.disputes()
        ).validated(self._kinds)


def label_buttons(parent: QWidget, group: QButtonGroup, leading=()) -> QHBoxLayout:
    """A row of radio buttons in ``group``: ``leading`` (id, text, tooltip) choices, then the
    corrected labels 0-4 (their value as id). The flag dialog and the bulk flag dialog share it."""
    row = QHBoxLayout()
    choices = [*leading, *((value, str(value), f"Corrected helpfulness label {value}") for value in LABELS)]
    for ident, text, tip in choices:
        button = QRadioButton(text, parent)
        if tip:
            button.setToolTip(tip)
        group.addButton(button, ident)
        row.addWidget(button)
    row.addStretch(1)
    return row
