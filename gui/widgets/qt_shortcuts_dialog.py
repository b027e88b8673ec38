"""Preferences page for keyboard shortcuts: rebind any key, conflicts refused, reset to defaults."""
from __future__ import annotations

from typing import Mapping

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QKeySequenceEdit,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..state import shortcuts


class QtShortcutsDialog(QDialog):
    """Edits a copy of the key table; :attr:`keys` holds the result after ``accept``.

    A key already used elsewhere is refused at once (the editor goes back to what it was and
    the message names the other action); nothing changes in the window until Save.
    """

    def __init__(self, keys: Mapping[str, tuple[str, ...]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.keys: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in keys.items()}
        self.message = QLabel(self)
        self.message.setObjectName("error")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.table = QTableWidget(len(shortcuts.BINDINGS), 3, self)
        self.table.setHorizontalHeaderLabels(["Action", "Key", "Default"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.editors: dict[str, QKeySequenceEdit] = {}
        for row, b in enumerate(shortcuts.BINDINGS):
            item = QTableWidgetItem(f"{b.text}  ({b.group.lower()})")
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.table.setItem(row, 0, item)
            editor = QKeySequenceEdit(self.table)
            editor.setClearButtonEnabled(True)
            editor.setMaximumSequenceLength(1)
            editor.editingFinished.connect(lambda bid=b.id: self._on_edited(bid))
            editor.keySequenceChanged.connect(lambda seq, bid=b.id: seq.isEmpty() and self._on_edited(bid))
            self.table.setCellWidget(row, 1, editor)
            self.editors[b.id] = editor
            default = QTableWidgetItem(" / ".join(b.keys) or "(none)")
            default.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.table.setItem(row, 2, default)
        self.table.resizeColumnToContents(2)
        self.table.setColumnWidth(1, 150)
        reset = QPushButton("Reset to defaults", self)
        reset.clicked.connect(self.reset_defaults)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.addButton(reset, QDialogButtonBox.ButtonRole.ResetRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self._show_keys()
        self.resize(620, 560)

    def _show_keys(self) -> None:
        for bid, editor in self.editors.items():
            ks = self.keys.get(bid, ())
            editor.blockSignals(True)
            editor.setKeySequence(QKeySequence(ks[0]) if ks else QKeySequence())
            editor.blockSignals(False)
            editor.setToolTip("Also: " + ", ".join(ks[1:]) if len(ks) > 1 else "")

    def set_key(self, bid: str, key: str) -> bool:
        """Bind ``bid`` to ``key`` ("" for none); False (and the reason shown) on a conflict."""
        current = self.keys.get(bid, ())
        if key and current and shortcuts.normalize(key) == shortcuts.normalize(current[0]):
            return True  # unchanged (alternates kept)
        try:
            self.keys = shortcuts.rebind(self.keys, bid, (key,) if key else ())
        except ValueError as exc:
            self.message.setText(f"Not changed: {exc}.")
            self._show_keys()
            return False
        self.message.setText("")
        self._show_keys()
        return True

    def _on_edited(self, bid: str) -> None:
        seq = self.editors[bid].keySequence()
        self.set_key(bid, seq.toString(QKeySequence.SequenceFormat.PortableText))

    def reset_defaults(self) -> None:
        self.keys = shortcuts.effective({})
        self.message.setText("")
        self._show_keys()
