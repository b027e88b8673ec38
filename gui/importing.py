"""Catalogue imports with a progress dialog, one after another, each in one transaction."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from storage.db import Database

from .store import Store
from .widgets.qt_import_progress import QtImportProgress, show_import_error
from .workers import WorkerContext


@dataclass(frozen=True)
class NeedsMapping:
    """What :func:`run_import` returns, instead of importing, for a CSV or JSONL file of no
    known format: its preview, for the column-mapping dialog."""

    path: str
    preview: Any
    """A :class:`storage.importers.mapped.Preview`."""


def mapping_preview(path: str | Path) -> Optional[Any]:
    """Worker job: the preview of ``path`` when it is a CSV or JSONL file that no importer
    recognises (it imports only through a column mapping), else None (a known format, a
    folder, or a file that is not tabular: the import's own error says what it is)."""
    from storage.errors import CatalogueError
    from storage.importers import detect
    from storage.importers.detect import sniff_file
    from storage.importers.mapped import preview

    p = Path(path).expanduser()
    if not p.is_file():
        return None
    try:
        found = detect(p)
    except CatalogueError:
        found = None
    # a ".csv" name is taken as a ReviewScope CSV even when its header is not one: look at it
    if found is not None and (found.format != "csv" or sniff_file(p)[0] == "csv"):
        return None
    try:
        pv = preview(p)
    except (CatalogueError, OSError, ValueError):
        return None
    if len(pv.columns) < 2 or (pv.kind == "csv" and pv.columns[0][:1] in ("[", "{")):
        return None  # one column of text, or a JSON array: not a table of reviews
    return pv


def run_import(db: Database, path: str, actor: str, ctx: WorkerContext, mapping: Any = None) -> Any:
    """Worker job: ``storage.importers.import_path`` with progress forwarded to the dialog.

    The progress callback raises ``Cancelled`` after Cancel, which aborts the import
    before anything is written (one transaction). The importer records the audit event.
    Without ``mapping``, a CSV or JSONL file of no known format is not imported: the job
    returns :class:`NeedsMapping` (the window asks the user for a column mapping).
    """
    from storage.importers import import_path

    if mapping is None:
        pv = mapping_preview(path)
        if pv is not None:
            return NeedsMapping(str(path), pv)

    def progress(done: int, total: int) -> None:
        ctx.report({"stage": "Reading rows", "done": done, "total": total})

    return import_path(db, path, progress=progress, actor=actor, mapping=mapping)


def check_job(path: str, mapping: Any, ctx: WorkerContext) -> Any:
    """Worker job: :func:`storage.importers.mapped.check_mapping`, stopped by Cancel (a newer
    mapping to check, or the dialog closed)."""
    from storage.importers.mapped import check_mapping

    return check_mapping(path, mapping, progress=lambda done, total: ctx.report((done, total)))


def report_text(report: Any) -> str:
    """One line about an ImportReport (or whatever the importer returned)."""
    fields = ("products_added", "products_updated", "reviews_added", "reviews_updated", "images_added")
    if not all(hasattr(report, f) for f in fields):
        return str(report)
    def n(count: int, word: str) -> str:
        return f"{count} {word}" + ("" if count == 1 else "s")

    return (
        f"{n(report.products_added, 'product')} added, {report.products_updated} updated; "
        f"{n(report.reviews_added, 'review')} added, {report.reviews_updated} updated; "
        f"{n(report.images_added, 'new image')}"
        + (f"; {n(report.scores_dropped, 'score')} of changed reviews and their neighbours cleared (they read "
           "'not scored' until rescored)" if getattr(report, "scores_dropped", 0) else "")
    )


def sample_catalogue() -> Optional[Path]:
    """The bundled sample catalogue folder, when the resources package ships one."""
    try:
        import resources

        path = Path(resources.sample_path())
    except (ImportError, AttributeError, OSError):
        return None
    return path if path.exists() else None


class QtImporter(QObject):
    """Imports paths in order; a failure shows an error dialog and skips to the next path.

    Signals
    -------
    imported(str, object)
        A path was imported (the importer's report).
    mapping_needed(str, object)
        A path is a CSV or JSONL file of no known format: path and its preview (a
        :class:`storage.importers.mapped.Preview`); it imports once given a mapping
        (:meth:`import_mapped`).
    failed(str, str)
        A path could not be imported: path and message (the database is unchanged).
    idle()
        The queue is empty again.
    """

    imported = Signal(str, object)
    mapping_needed = Signal(str, object)
    failed = Signal(str, str)
    idle = Signal()

    def __init__(self, store: Store, parent_widget: QWidget, actor=lambda: "") -> None:
        super().__init__(parent_widget)
        self._store = store
        self._actor = actor
        self._parent = parent_widget
        self._queue: deque[tuple[str, Any]] = deque()  # (path, mapping or None)
        self._running = False
        self.dialog: Optional[QtImportProgress] = None

    @property
    def running(self) -> bool:
        return self._running

    def import_paths(self, paths) -> None:
        self._queue.extend((str(p), None) for p in paths)
        if not self._running:
            self._next()

    def import_mapped(self, path: str, mapping: Any) -> None:
        """Queue ``path`` to import through ``mapping`` (a :class:`storage.importers.Mapping`)."""
        self._queue.append((str(path), mapping))
        if not self._running:
            self._next()

    def _next(self) -> None:
        if not self._queue or self._store.db is None:
            self._running = False
            self._queue.clear()
            self.idle.emit()
            return
        self._running = True
        path, mapping = self._queue.popleft()
        dialog = QtImportProgress(Path(path).name or path, self._parent)
        self.dialog = dialog
        worker = self._store.run(
            run_import, self._store.db, path, self._actor(), pass_context=True, mapping=mapping,
            on_progress=dialog.report,
            on_result=lambda report: self._on_finished(dialog, path, report),
            on_error=lambda exc: self._on_failed(dialog, path, exc),
            on_cancelled=lambda _none: self._on_cancelled(dialog),
        )
        dialog.canceled.connect(worker.cancel)
        dialog.show()

    def _close(self, dialog: QtImportProgress) -> None:
        dialog.hide()
        dialog.deleteLater()
        if self.dialog is dialog:
            self.dialog = None

    def _on_finished(self, dialog, path: str, report) -> None:
        self._close(dialog)
        if isinstance(report, NeedsMapping):
            self.mapping_needed.emit(path, report.preview)
        else:
            self.imported.emit(path, report)
        self._next()

    def _on_failed(self, dialog, path: str, exc: Exception) -> None:
        self._close(dialog)
        message = str(exc) or type(exc).__name__
        self.failed.emit(path, message)
        show_import_error(self._parent, path, message)
        self._next()

    def _on_cancelled(self, dialog) -> None:
        self._close(dialog)
        self._next()
