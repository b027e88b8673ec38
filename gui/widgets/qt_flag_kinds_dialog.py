"""Manage flag kinds: add, rename, retire or restore, and order the kinds the flag dialog offers."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QDialog, QDialogButtonBox, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QListView,
    QPushButton, QVBoxLayout, QWidget,
)

from storage.records import FlagKindRecord
from storage.repository.flag_kinds import MAX_KIND_LENGTH

from ..flag_kinds import QtFlagKinds
from ..models.flag_kinds_model import FlagKindsModel, built_in_source


class QtFlagKindsDialog(QDialog):
    """Lists every kind (retired ones greyed, "(retired)"); each change goes to the store at
    once through :class:`~gui.flag_kinds.QtFlagKinds` and the list shows what the store holds
    afterwards. A refused change is explained under the list."""

    def __init__(self, kinds: QtFlagKinds, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Flag kinds")
        self._kinds = kinds
        self._select_next: Optional[str] = None  # a kind to select once the store has it
        self.model = FlagKindsModel(self)
        self.model.rename_requested.connect(self._on_rename_requested)
        intro = QLabel("The kinds offered in the flag dialog, in this order. A retired kind stays on the flags "
                       "that have it but is no longer offered.", self)
        intro.setWordWrap(True)
        intro.setObjectName("muted")
        self.view = QListView(self)
        self.view.setObjectName("flagKindsList")
        self.view.setModel(self.model)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.view.setAlternatingRowColors(True)
        self.view.selectionModel().currentChanged.connect(lambda *_: self._update_buttons())

        self.rename_button = QPushButton("&Rename", self)
        self.rename_button.setToolTip("Rename the selected kind, and every flag that has it (F2)")
        self.rename_button.clicked.connect(self.start_rename)
        self.retire_button = QPushButton("Re&tire", self)
        self.retire_button.clicked.connect(self._on_retire_or_restore)
        self.up_button = QPushButton("Move &up", self)
        self.up_button.clicked.connect(lambda: self._move(-1))
        self.down_button = QPushButton("Move &down", self)
        self.down_button.clicked.connect(lambda: self._move(1))
        side = QVBoxLayout()
        for b in (self.rename_button, self.retire_button, self.up_button, self.down_button):
            side.addWidget(b)
        side.addStretch(1)

        self.new_name = QLineEdit(self)
        self.new_name.setPlaceholderText("New kind, e.g. \u201cwrong product\u201d")
        self.new_name.setMaxLength(MAX_KIND_LENGTH)
        self.new_name.textChanged.connect(lambda _t: self._update_buttons())
        self.new_name.returnPressed.connect(self.add_typed)
        self.add_button = QPushButton("&Add", self)
        self.add_button.clicked.connect(self.add_typed)
        add_row = QHBoxLayout()
        add_row.addWidget(self.new_name, 1)
        add_row.addWidget(self.add_button)

        self.hint = QLabel(self)  # why a selected kind cannot be renamed or retired
        self.hint.setObjectName("muted")
        self.hint.setWordWrap(True)
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        self.hint.hide()
        self.message = QLabel(self)
        self.message.setObjectName("error")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)  # may quote a kind the user typed
        self.message.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)

        grid = QGridLayout()
        grid.addWidget(self.view, 0, 0)
        grid.addLayout(side, 0, 1)
        grid.addLayout(add_row, 1, 0)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(grid, 1)
        layout.addWidget(self.hint)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

        state = kinds.state
        state.events.kinds.connect(self._on_kinds)
        state.events.error.connect(self._on_error)
        self._on_kinds(state.kinds)
        self._on_error("")
        kinds.reload()  # someone else may have changed them
        self.new_name.setFocus()
        self.resize(480, 440)

    # ---------------------------------------------------------------- reading the selection

    def current(self) -> Optional[FlagKindRecord]:
        index = self.view.currentIndex()
        return self.model.kind(index.row()) if index.isValid() else None

    def select(self, name: str) -> bool:
        row = self.model.row_of(name)
        if row is None:
            return False
        self.view.selectionModel().setCurrentIndex(self.model.index(row), QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.view.scrollTo(self.model.index(row))
        return True

    # ---------------------------------------------------------------- changes

    def add_typed(self) -> None:
        name = self.new_name.text().strip()
        if not name:
            return
        self._select_next = name
        self._kinds.add(name)

    def start_rename(self) -> None:
        index = self.view.currentIndex()
        if index.isValid() and self.model.flags(index) & Qt.ItemFlag.ItemIsEditable:
            self.view.edit(index)

    def rename(self, name: str, new_name: str) -> None:
        self._on_rename_requested(name, new_name)

    def _on_rename_requested(self, name: str, new_name: str) -> None:
        self._select_next = new_name.strip()
        self._kinds.rename(name, new_name)

    def _on_retire_or_restore(self) -> None:
        k = self.current()
        if k is None or k.built_in:
            return
        self._select_next = k.name
        (self._kinds.restore if k.retired else self._kinds.retire)(k.name)

    def _move(self, offset: int) -> None:
        k = self.current()
        if k is not None:
            self._select_next = k.name
            self._kinds.move(k.name, offset)

    # ---------------------------------------------------------------- store answers

    def _on_kinds(self, kinds) -> None:
        keep = self.current()
        self.model.set_kinds(kinds)
        wanted, self._select_next = self._select_next, None
        if wanted and self.select(wanted):
            if self.new_name.text().strip() == wanted:
                self.new_name.clear()  # added
        elif keep is None or not self.select(keep.name):
            if self.model.rowCount():
                self.select(self.model.kind(0).name)
        self._update_buttons()

    def _on_error(self, text: str) -> None:
        if text:
            self._select_next = None  # what was asked for did not happen
        self.message.setText(f"Not changed: {text}" if text else "")
        self.message.setVisible(bool(text))

    def _update_buttons(self) -> None:
        k = self.current()
        editable = k is not None and not k.built_in
        self.rename_button.setEnabled(editable)
        self.retire_button.setEnabled(editable)
        self.retire_button.setText("Re&store" if k is not None and k.retired else "Re&tire")
        self.retire_button.setToolTip(
            "Built-in: the corrected-label keys or sub-score disputes give flags this kind" if k is not None and k.built_in
            else "Offer it for new flags again" if k is not None and k.retired
            else "Stop offering it for new flags; flags that have it keep it")
        self.hint.setText(f"\u201c{k.name}\u201d is given by {built_in_source(k.name)}: it cannot be renamed or retired."
                          if k is not None and k.built_in else "")
        self.hint.setVisible(bool(self.hint.text()))
        row = self.view.currentIndex().row() if k is not None else -1
        self.up_button.setEnabled(row > 0)
        self.down_button.setEnabled(0 <= row < self.model.rowCount() - 1)
        self.add_button.setEnabled(bool(self.new_name.text().strip()))
