"""A row of image thumbnails (decoded in a worker); click one to see it full size."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Sequence

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QImageReader, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from storage.records import ImageRecord

from ..theme import icon

THUMB = 72


def read_image(path: str, max_side: Optional[int] = None) -> QImage:
    """Decode an image file (in a worker: QImage, unlike QPixmap, may live off the GUI thread)."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    if max_side:
        size = reader.size()
        if size.isValid() and max(size.width(), size.height()) > max_side:
            reader.setScaledSize(size.scaled(max_side, max_side, Qt.AspectRatioMode.KeepAspectRatio))
    return reader.read()


def read_thumbnails(paths: Sequence[str], side: int = THUMB) -> list[QImage]:
    return [read_image(p, side) if Path(p).is_file() else QImage() for p in paths]


class QtThumbnailStrip(QWidget):
    """Thumbnails of one list of images. ``loader(paths, on_done)`` decodes them off the GUI thread.

    Signals
    -------
    enlarge_requested(str)
        Path of the clicked image.
    """

    enlarge_requested = Signal(str)

    def __init__(self, caption: str, loader: Callable, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loader = loader
        self._paths: tuple[str, ...] = ()
        self.caption = QLabel(caption, self, objectName="muted")
        self._row = QHBoxLayout()
        self._row.setSpacing(6)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addLayout(self._row)
        layout.addStretch(1)
        self.buttons: list[QToolButton] = []
        self.setVisible(False)

    def set_images(self, images: Sequence[ImageRecord]) -> None:
        for b in self.buttons:
            b.deleteLater()
        self.buttons = []
        self._paths = tuple(i.path for i in images)
        self.setVisible(bool(images))
        for img in images:
            button = QToolButton(self, objectName="thumbnail")
            button.setIconSize(QSize(THUMB, THUMB))
            button.setFixedSize(THUMB + 8, THUMB + 8)
            button.setToolTip(f"{img.width}\u00d7{img.height} {img.format} \u2014 click to enlarge")
            button.setIcon(icon("image-missing"))
            button.clicked.connect(lambda _c=False, p=img.path: self.enlarge_requested.emit(p))
            self._row.addWidget(button)
            self.buttons.append(button)
        if images:
            paths = self._paths
            self._loader(list(paths), lambda decoded: self._on_decoded(paths, decoded))

    def _on_decoded(self, paths: tuple[str, ...], images: Sequence[QImage]) -> None:
        if paths != self._paths:  # a newer review replaced this one meanwhile
            return
        for button, image in zip(self.buttons, images):
            if not image.isNull():
                button.setIcon(QIcon(QPixmap.fromImage(image)))
