"""Progress dialog of a catalogue import (with Cancel) and its error dialog."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProgressDialog, QWidget

from ..dialogs import show_error


def progress_text(event: Any) -> tuple[str, int, int]:
    """(message, done, total) from whatever the importer reports (total 0 = unknown)."""
    if isinstance(event, dict):
        done, total = event.get("done", 0), event.get("total") or 0
        stage = event.get("stage") or event.get("message") or "Importing"
        return str(stage), int(done or 0), int(total or 0)
    if isinstance(event, (tuple, list)):
        nums = [v for v in event if isinstance(v, (int, float)) and not isinstance(v, bool)]
        words = [str(v) for v in event if isinstance(v, str)]
        done = int(nums[0]) if nums else 0
        total = int(nums[1]) if len(nums) > 1 and nums[1] else 0
        return (" ".join(words) or "Importing"), done, total
    for attr in ("stage", "message"):
        if hasattr(event, attr):
            done = getattr(event, "done", 0) or 0
            total = getattr(event, "total", 0) or 0
            return str(getattr(event, attr)), int(done), int(total)
    return str(event), 0, 0


class QtImportProgress(QProgressDialog):
    """Modal progress of one import; Cancel rolls the import back."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(f"Importing {name}\u2026", "Cancel", 0, 0, parent)
        self.setWindowTitle("Import catalogue")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumDuration(0)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.setMinimumWidth(380)
        self._name = name

    def report(self, event: Any) -> None:
        message, done, total = progress_text(event)
        self.setLabelText(f"Importing {self._name}\u2026\n{message}: {done}" + (f" of {total}" if total else ""))
        if total:
            self.setRange(0, total)
            self.setValue(min(done, total))
        else:
            self.setRange(0, 0)


def show_import_error(parent: QWidget | None, path: str, message: str) -> None:
    show_error(parent, "Import failed", f"Could not import {path}:\n\n{message}\n\nThe database was not changed.")
