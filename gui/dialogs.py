"""Message boxes that never interpret their text as rich text (it may quote user content)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from . import qt_compat  # noqa: F401  (before any call into Qt: see the module)


def message_box(parent: QWidget | None, icon: QMessageBox.Icon, title: str, text: str, details: str = "") -> QMessageBox:
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    if details:
        box.setDetailedText(details)
    return box


def show_error(parent: QWidget | None, title: str, text: str, details: str = "") -> None:
    message_box(parent, QMessageBox.Icon.Critical, title, text, details).exec()


def show_info(parent: QWidget | None, title: str, text: str) -> None:
    message_box(parent, QMessageBox.Icon.Information, title, text).exec()
