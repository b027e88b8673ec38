"""The Models dock: model versions with their metrics; activate, delete, export, import, compare."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QItemSelectionModel, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QInputDialog, QMessageBox, QPushButton, QSplitter,
    QTableView, QVBoxLayout, QWidget,
)

from ..models.roles import KeyRole, SortRole
from ..state.app_state import AppState
from ..store import Store
from . import queries
from .operations import QtModelOperations
from .drift import Drift
from .qt_dispute_counts import QtDisputeCounts
from .qt_model_comparison import QtModelComparison
from .state import ModelsViewState
from .table_models import ModelListModel


def confirm(parent: QWidget, title: str, text: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, title, text,
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setDefaultButton(QMessageBox.StandardButton.No)
    try:
        return box.exec() == QMessageBox.StandardButton.Yes
    finally:
        box.deleteLater()


class QtModelsView(QWidget):
    """Binds to :class:`ModelsViewState`; actions go through :class:`QtModelOperations`.

    Signals
    -------
    review_requested(int, int)
        Show this review (product pk, review pk), from the comparison's moved reviews.
    """

    review_requested = Signal(int, int)

    def __init__(self, store: Store, app_state: AppState, operations: QtModelOperations,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._app = app_state
        self.ops = operations
        self.state = ModelsViewState()
        self._load_generation = 0
        self._compare_generation = 0
        self._drift_generation = 0
        self._dispute_generation = 0
        self._drift_cache: dict[tuple[int, int], Drift] = {}  # per pair, checked against the store's stamp
        self.list_model = ModelListModel(self)
        proxy = QSortFilterProxyModel(self)
        proxy.setSourceModel(self.list_model)
        proxy.setSortRole(SortRole)
        self.view = QTableView(self)
        self.view.setObjectName("modelsTable")
        self.view.setModel(proxy)
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.setAlternatingRowColors(True)
        self.view.setShowGrid(False)
        self.view.setWordWrap(False)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.activate_button = QPushButton("Activate", self)
        self.activate_button.setToolTip("Make the selected model the active one (scores the catalogue if needed)")
        self.delete_button = QPushButton("Delete\u2026", self)
        self.export_button = QPushButton("Export\u2026", self)
        self.export_button.setToolTip("Copy the model's folder (weights as safetensors + JSON card) to a folder")
        self.import_button = QPushButton("Import\u2026", self)
        self.import_button.setToolTip("Register a model folder (safetensors + JSON only; pickles are refused)")
        self.comparison = QtModelComparison(self.state, self)
        buttons = QHBoxLayout()
        for b in (self.activate_button, self.delete_button, self.export_button, self.import_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        left = QWidget(self)
        lay = QVBoxLayout(left)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(buttons)
        lay.addWidget(self.view, 1)
        self.dispute_counts = QtDisputeCounts(self.state, left)
        lay.addWidget(self.dispute_counts)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(self.comparison)
        splitter.setSizes([470, 1130])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)
        self._compare_timer = QTimer(self)
        self._compare_timer.setSingleShot(True)
        self._compare_timer.setInterval(150)  # arrow keys through the list: compare the last only
        self._compare_timer.timeout.connect(self.compare_selected)
        self._drift_stale = False  # a flag changed since the shown drift was measured
        self._drift_timer = QTimer(self)
        self._drift_timer.setSingleShot(True)
        self._drift_timer.setInterval(400)  # a run of label keys: measure once, after the last
        self._drift_timer.timeout.connect(self._refresh_drift)

        self.view.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.activate_button.clicked.connect(self._on_activate_clicked)
        self.delete_button.clicked.connect(self._on_delete_clicked)
        self.export_button.clicked.connect(self._on_export_clicked)
        self.import_button.clicked.connect(self._on_import_clicked)
        self.comparison.review_requested.connect(self.review_requested)
        self.state.events.snapshot.connect(self._on_snapshot_changed)
        self.state.events.selected.connect(self._on_selected_changed)
        operations.models_changed.connect(self.reload)
        store.opened.connect(self._on_database_opened)
        app_state.events.theme.connect(self._on_theme_changed)
        self._on_theme_changed(app_state.theme)
        operations.busy_changed.connect(self._on_busy_changed)
        self._on_selected_changed(())

    # ------------------------------------------------------------ loading

    def reload(self) -> None:
        self._load_generation += 1
        gen = self._load_generation

        def done(snapshot: queries.ModelsSnapshot) -> None:
            if gen == self._load_generation:
                self.state.snapshot = snapshot

        self._store.call(queries.load_models, on_result=done)

    def _on_snapshot_changed(self, snapshot: queries.ModelsSnapshot) -> None:
        keep = self.state.selected
        self.list_model.set_snapshot(snapshot)
        self.select(keep)
        self._on_selected_changed(self.state.selected)

    def select(self, model_ids) -> None:
        """Select these model versions in the list (the comparison follows)."""
        sm = self.view.selectionModel()
        proxy = self.view.model()
        sm.clearSelection()
        for mid in model_ids:
            row = self.list_model.row_of(mid)
            if row is not None:
                index = proxy.mapFromSource(self.list_model.index(row, 0))
                sm.select(index, QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
        self.state.selected = self._selected_ids()

    def _selected_ids(self) -> tuple[int, ...]:
        return tuple(idx.data(KeyRole) for idx in self.view.selectionModel().selectedRows())

    # ------------------------------------------------------------ selection -> comparison

    def _on_selection_changed(self, *_args) -> None:
        self.state.selected = self._selected_ids()

    def _on_selected_changed(self, selected) -> None:
        one = len(selected) == 1
        model = self.state.model(selected[0]) if one else None
        self.activate_button.setEnabled(model is not None and not model.active)
        self.delete_button.setEnabled(model is not None and not model.active)
        self.delete_button.setToolTip("The active model cannot be deleted" if model is not None and model.active
                                      else "Delete the selected model version and its predictions")
        self.export_button.setEnabled(model is not None and not self.ops.transferring)
        self._compare_timer.start()
        self.reload_disputes()

    def flags_changed(self) -> None:
        """A flag was made, edited or undone: recount the disputes, and measure the drift again
        (it covers the unflagged reviews) once the view shows, after the last of a quick run."""
        self.reload_disputes()
        if self.state.compare_pair() is None:
            return
        self._drift_stale = True
        if self.isVisible():
            self._drift_timer.start()

    def _refresh_drift(self) -> None:
        if self._drift_stale and self.isVisible():
            self._drift_stale = False
            self.measure_drift(self.state.compare_pair())

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self._drift_stale:
            self._drift_timer.start()

    def reload_disputes(self) -> None:
        """Count the disputed sub-scores of the one selected model, in a worker (None: not one)."""
        self._dispute_generation += 1
        gen = self._dispute_generation
        selected = self.state.selected
        if len(selected) != 1 or self._store.db is None:
            self.state.disputes = None
            return

        def done(summary: queries.DisputeSummary) -> None:
            if gen == self._dispute_generation:
                self.state.disputes = summary

        self._store.call(queries.load_disputes, selected[0], on_result=done)

    def compare_selected(self) -> None:
        pair = self.state.compare_pair()
        self._compare_generation += 1
        gen = self._compare_generation
        self._drift_stale = False
        self.measure_drift(pair)
        if pair is None:
            self.state.comparison = None
            return
        self.state.comparing = True

        def done(comp) -> None:
            if gen == self._compare_generation:
                self.state.comparing = False
                self.state.comparison = comp

        self._store.call(queries.load_comparison, *pair, background=True, on_result=done,
                         on_error=lambda exc: (setattr(self.state, "comparing", False),
                                               self.ops.failed.emit("Could not compare models", str(exc))))

    DRIFT_CACHE_SIZE = 8

    def measure_drift(self, pair: Optional[tuple[int, int]]) -> None:
        """The drift of ``pair`` on the unflagged reviews, computed in a background worker.

        A pair seen before shows its cached drift at once; the worker then checks the store's
        stamp (a rescoring or a flag since changes it) and recomputes only when it moved."""
        self._drift_generation += 1
        gen = self._drift_generation
        if pair is None:
            self.state.drifting = False
            self.state.drift = None
            return
        cached = self._drift_cache.get(pair)
        self.state.drifting = True
        self.state.drift = cached

        def done(drift: Drift) -> None:
            self._drift_cache.pop(pair, None)
            self._drift_cache[pair] = drift
            while len(self._drift_cache) > self.DRIFT_CACHE_SIZE:
                self._drift_cache.pop(next(iter(self._drift_cache)))
            if gen == self._drift_generation:
                self.state.drifting = False
                self.state.drift = drift

        def failed(exc: BaseException) -> None:
            if gen == self._drift_generation:
                self.state.drifting = False
            self.ops.failed.emit("Could not measure the drift between the models", str(exc))

        self._store.call(queries.load_drift, *pair, cached, background=True, on_result=done, on_error=failed)

    def _on_database_opened(self, _db) -> None:
        self._drift_cache.clear()  # another database: the same ids are other models

    def _on_theme_changed(self, theme: str) -> None:
        self.comparison.drift.set_dark(theme == "dark")

    # ------------------------------------------------------------ actions

    def _current(self):
        sel = self.state.selected
        return self.state.model(sel[0]) if len(sel) == 1 else None

    def _on_activate_clicked(self) -> None:
        model = self._current()
        if model is not None:
            self.ops.activate(model.id, model.name)

    def _on_delete_clicked(self) -> None:
        model = self._current()
        if model is None or model.active:
            return
        if confirm(self, "Delete model version",
                   f"Delete {model.name} and all its predictions? Its checkpoint folder stays on disk "
                   f"({model.checkpoint_path})."):
            self.ops.delete(model.id)

    def _on_export_clicked(self) -> None:
        model = self._current()
        if model is None:
            return
        folder = QFileDialog.getExistingDirectory(self, f"Export {model.name} into folder")
        if folder:
            self.ops.export(model.name, folder)

    def _on_import_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a model folder (model.safetensors + model.json)")
        if not folder:
            return
        default = folder.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1]
        name, ok = QInputDialog.getText(self, "Import model", "Register the model under the name:", text=default)
        if ok and name.strip():
            self.ops.import_folder(folder, name.strip())

    def _on_busy_changed(self, busy: bool) -> None:
        self.import_button.setEnabled(not busy)
        self._on_selected_changed(self.state.selected)

    @property
    def selected_model(self) -> Optional[int]:
        sel = self.state.selected
        return sel[0] if len(sel) == 1 else None
