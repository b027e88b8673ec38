"""Message boxes that never interpret their text as rich text (it may quote user content)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget



def message_box(parent: QWidget | None, icon: QMessageBox.Icon, title: str, text: str, details: str = "") -> QMessageBox:
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    if details:
        box.setDetailedText(details)
    return box


def _exec_once(box: QMessageBox) -> None:
    """Show ``box`` modally, then delete it: a child kept after use would pile up on the window."""
    try:
        box.exec()
    finally:
        box.deleteLater()


def show_error(parent: QWidget | None, title: str, text: str, details: str = "") -> None:
    _exec_once(message_box(parent, QMessageBox.Icon.Critical, title, text, details))


def show_info(parent: QWidget | None, title: str, text: str) -> None:
    _exec_once(message_box(parent, QMessageBox.Icon.Information, title, text))
