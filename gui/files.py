"""File dialogs behind File > Open / Import / Export; the work itself runs in workers."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from . import export
from .dialogs import show_error

DB_SUFFIXES = {".db", ".sqlite", ".sqlite3", ".reviewscope"}
DB_FILTER = "ReviewScope databases (*.db *.sqlite *.sqlite3);;All files (*)"
CATALOGUE_FILTER = "Catalogues (*.csv *.jsonl *.json);;All files (*)"
MAPPED_FILTER = "CSV or JSON lines (*.csv *.jsonl *.json *.csv.gz *.jsonl.gz *.json.gz);;All files (*)"
EXPORT_FILTER = "CSV (*.csv);;JSON lines (*.jsonl)"


def is_database_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in DB_SUFFIXES


class QtFileActions(QObject):
    """Asks for paths, then hands them to the window (open, import) or to a worker (export)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self._w = window

    @property
    def _folder(self) -> str:
        return self._w.settings.last_folder()

    def _remember(self, path: str | Path) -> None:
        p = Path(path)
        self._w.settings.set_last_folder(p if p.is_dir() else p.parent)

    def open_database(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self._w, "Open database", self._folder, DB_FILTER)
        if path:
            self._remember(path)
            self._w.open_database(path)

    def import_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self._w, "Import catalogue folder", self._folder)
        if path:
            self._remember(path)
            self._w.import_paths([path])

    def import_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self._w, "Import catalogue file", self._folder, CATALOGUE_FILTER)
        if path:
            self._remember(path)
            self._w.import_paths([path])

    def import_with_mapping(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self._w, "Import with column mapping", self._folder, MAPPED_FILTER)
        if path:
            self._remember(path)
            self._w.mapping_imports.open_file(path)

    def export(self, view: bool) -> None:
        what = "current view" if view else "all flags"
        default = str(Path(self._folder) / ("reviews.csv" if view else "flags.csv"))
        path, chosen = QFileDialog.getSaveFileName(self._w, f"Export {what}", default, EXPORT_FILTER)
        if not path:
            return
        if not Path(path).suffix:
            path += ".jsonl" if "jsonl" in chosen else ".csv"
        self.export_to(path, view)

    def export_to(self, path: str, view: bool) -> None:
        """Write the table's current view (every row, not only loaded pages; every product's
        rows that pass the table's filter when no product is selected) or all flags."""
        w = self._w
        self._remember(path)
        fail = lambda exc: show_error(w, "Export failed", str(exc))  # noqa: E731
        if view:
            query = w.review_model.query or w.table_state.query(w.app_state.current_product_pk,
                                                                w.app_state.model_version_id)
            scope = "" if query.product_pk is not None else " of all products"
            done = lambda n: w.status.showMessage(f"Exported {n} rows{scope} to {path}", 10_000)  # noqa: E731
            w.store.call(export.export_view, query, path, on_result=done, on_error=fail)
        else:
            done = lambda n: w.status.showMessage(f"Exported {n} flags to {path}", 10_000)  # noqa: E731
            w.store.call(export.export_flags, path, on_result=done, on_error=fail)
