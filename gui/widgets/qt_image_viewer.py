"""A dialog that shows one image at full size (opened by clicking a thumbnail)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QScrollArea, QVBoxLayout, QWidget


class QtImageViewer(QDialog):
    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.image_label = QLabel("loading\u2026", self)
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setTextFormat(Qt.TextFormat.PlainText)
        scroll = QScrollArea(self)
        scroll.setWidget(self.image_label)
        scroll.setWidgetResizable(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(buttons)
        self.resize(720, 560)

    def set_image(self, image: QImage) -> None:
        if image.isNull():
            self.image_label.setText("This image cannot be read.")
            return
        self.image_label.setPixmap(QPixmap.fromImage(image))
        self.resize(min(1200, image.width() + 40), min(900, image.height() + 80))

    def set_error(self, message: str) -> None:
        self.image_label.setText(message)
