"""Imports through a column mapping: the dialog for a CSV or JSONL file of no known format
(opened when an import finds one, or on purpose from File > Import with column mapping),
the mapping remembered per header, and the import itself through :class:`QtImporter`."""
from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QWidget

from .dialogs import show_error
from .importing import QtImporter
from .settings import Settings
from .state.import_mapping import ImportMappingState, remembered_key
from .store import Store
from .widgets.qt_import_mapping_dialog import QtImportMappingDialog


def load_preview(path: str) -> Any:
    """Worker job: the preview of a CSV or JSONL file (CatalogueError when it is neither)."""
    from storage.importers.mapped import preview

    return preview(Path(path).expanduser())


class QtMappingImports(QObject):
    """Shows one mapping dialog at a time (files found while one is open wait their turn) and
    queues the accepted file, with its mapping, on the importer.

    Signals
    -------
    dialog_shown(object)
        A mapping dialog was opened (the :class:`QtImportMappingDialog`).
    """

    dialog_shown = Signal(object)

    def __init__(self, store: Store, importer: QtImporter, settings: Settings, parent_widget: QWidget) -> None:
        super().__init__(parent_widget)
        self._store = store
        self._importer = importer
        self._settings = settings
        self._parent = parent_widget
        self._waiting: deque[tuple[str, Any]] = deque()
        self.dialog: Optional[QtImportMappingDialog] = None
        importer.mapping_needed.connect(self.show_dialog)

    def open_file(self, path: str) -> None:
        """Read the first rows of ``path`` in a worker, then show the dialog for it."""
        self._store.run(load_preview, str(path), write=False,
                        on_result=lambda pv: self.show_dialog(str(path), pv),
                        on_error=lambda exc: show_error(self._parent, "Cannot read the file",
                                                        f"{path}:\n\n{exc}"))

    def show_dialog(self, path: str, preview: Any) -> None:
        if self.dialog is not None:
            self._waiting.append((path, preview))
            return
        state = ImportMappingState(path, preview, remembered=self._settings.view_state(remembered_key(preview.columns)))
        dialog = QtImportMappingDialog(state, self._store, self._parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._on_accepted(state))  # the state, not the dialog: no cycle
        dialog.finished.connect(self._on_finished)
        self.dialog = dialog
        dialog.open()
        self.dialog_shown.emit(dialog)

    def _on_accepted(self, state: ImportMappingState) -> None:
        self._settings.set_view_state(state.key, state.to_json())
        self._importer.import_mapped(state.path, state.to_mapping())

    def _on_finished(self, _result: int) -> None:
        self.dialog = None
        if self._waiting:
            self.show_dialog(*self._waiting.popleft())
