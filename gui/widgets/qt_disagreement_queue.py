"""The disagreement queue dock: reviews where the model and the votes disagree most."""
from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QSignalBlocker, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QTableView, QToolButton, QVBoxLayout, QWidget,
)

from .. import queries
from ..models.disagreement_model import DisagreementTableModel
from ..models.roles import KeyRole
from ..state.app_state import AppState
from ..state.disagreement_queue import DisagreementQueueState
from storage.ranking import DisagreementMode
from ..store import Store
from ..theme import icon


class QtDisagreementQueue(QWidget):
    """Worked through with the keyboard: J/K move, Enter opens, 0-4 / F / U triage.

    Signals
    -------
    item_selected(object)
        The current ``QueueItem`` changed.
    open_requested(int)
        Enter on an item (review primary key).
    """

    item_selected = Signal(object)
    open_requested = Signal(int)

    def __init__(self, store: Store, app_state: AppState, state: DisagreementQueueState,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._app = app_state
        self._state = state
        self._generation = 0
        self._quiet = False  # True while the queue itself is being replaced
        self.table_model = DisagreementTableModel(state, self)
        self.mode = QComboBox(self)
        for mode in DisagreementMode:
            self.mode.addItem(mode.value, mode)
        self.mode.setToolTip("Order by the rank gap under the model, or by how far the score's place is from the label")
        self.mode.currentIndexChanged.connect(lambda i: setattr(self._state, "mode", self.mode.itemData(i)))
        self.refresh = QToolButton(self)
        self.refresh.setIcon(icon("refresh"))
        self.refresh.setToolTip("Recompute the queue")
        self.refresh.clicked.connect(self.reload)
        self.status = QLabel("", self, objectName="muted")
        self.view = QTableView(self)
        self.view.setObjectName("queueTable")
        self.view.setModel(self.table_model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setAlternatingRowColors(True)
        self.view.setShowGrid(False)
        self.view.setWordWrap(False)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(22)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for col, width in enumerate((170, 320, 60, 50, 104, 70)):
            header.resizeSection(col, width)
        top = QHBoxLayout()
        top.addWidget(QLabel("Order by", self))
        top.addWidget(self.mode)
        top.addWidget(self.refresh)
        top.addStretch(1)
        top.addWidget(self.status)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)

        self.view.selectionModel().currentRowChanged.connect(self._on_current_row_changed)
        self.view.activated.connect(self._on_activated)
        state.events.mode.connect(self._on_mode_changed)
        state.events.index.connect(self._on_index_changed)
        state.events.items.connect(self._on_items_changed)

    def reload(self) -> None:
        self._generation += 1
        gen = self._generation
        if self._app.model_version_id is None or self._store.db is None:
            self._state.set_items(())
            self.status.setText("no active model: nothing to compare")
            return
        self.status.setText("computing\u2026")
        self._store.call(
            queries.load_disagreements, self._app.model_version_id, self._state.mode, background=True,
            on_result=lambda items: self._on_loaded(gen, items),
        )

    def _on_loaded(self, gen: int, items) -> None:
        if gen == self._generation:
            self._state.set_items(items)

    def _on_items_changed(self, items) -> None:
        self.status.setText(f"{len(items)} reviews" if items else "no disagreements")
        self._quiet = True
        try:
            self._on_index_changed(self._state.index)
        finally:
            self._quiet = False

    def _on_mode_changed(self, mode: DisagreementMode) -> None:
        index = self.mode.findData(mode)
        if index != self.mode.currentIndex():
            with QSignalBlocker(self.mode):
                self.mode.setCurrentIndex(index)
        self.reload()

    def _on_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self._state.index = current.row()

    def _on_index_changed(self, index: int) -> None:
        if 0 <= index < self.table_model.rowCount():
            model_index = self.table_model.index(index, 1)
            if self.view.currentIndex().row() != index:
                self.view.selectionModel().setCurrentIndex(
                    model_index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
                )
            self.view.scrollTo(model_index)
            if not self._quiet:
                self.item_selected.emit(self._state.current)

    def _on_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.item_selected.emit(self._state.current)
            self.open_requested.emit(index.data(KeyRole))
