"""The disagreement queue dock: reviews where the model and the votes disagree most."""
from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QSignalBlocker, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QHBoxLayout, QHeaderView, QLabel, QTableView, QToolButton, QVBoxLayout, QWidget,
)

from .. import queries
from ..models.disagreement_model import DisagreementTableModel
from ..models.roles import KeyRole
from ..state.app_state import AppState
from ..state.disagreement_queue import DIRECTIONS, DisagreementQueueState, QueueFilter
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
        self.scope = QComboBox(self)
        self.scope.setToolTip("Which products the queue is built from")
        self.scope.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.scope.setMinimumContentsLength(12)
        self.direction = QComboBox(self)
        self.direction.addItem("Both directions", None)
        for d in DIRECTIONS:
            self.direction.addItem(d.capitalize(), d)
        self.direction.setToolTip("Reviews the model ranks too high, too low, or both")
        self.direction.currentIndexChanged.connect(self._on_filter_picked)
        self.held_out = QCheckBox("Held-out only", self)
        self.held_out.setToolTip(
            "Only products outside the training split: the model never trained on their votes, so it cannot\n"
            "look falsely agreeable on them. Off: every scored product, including those whose votes it learnt.")
        self.held_out.setChecked(state.filter.held_out_only)
        self.held_out.toggled.connect(self._on_filter_picked)
        self.hide_done = QCheckBox("Hide done", self)
        self.hide_done.setToolTip("Reviews someone has decided on (flagged or relabelled) leave the list")
        self.hide_done.setChecked(state.hide_done)
        self.hide_done.toggled.connect(lambda on: setattr(self._state, "hide_done", on))
        self.set_categories(())
        self.scope.currentIndexChanged.connect(self._on_filter_picked)
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
        top.addWidget(self.scope)
        top.addWidget(self.direction)
        top.addWidget(self.held_out)
        top.addWidget(self.hide_done)
        top.addWidget(self.refresh)
        top.addStretch(1)
        top.addWidget(self.status)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)

        self.view.selectionModel().currentRowChanged.connect(self._on_current_row_changed)
        self.view.activated.connect(self._on_activated)
        self.view.installEventFilter(self)
        state.events.mode.connect(self._on_mode_changed)
        state.events.index.connect(self._on_index_changed)
        state.events.items.connect(self._on_items_changed)
        state.events.filter.connect(self._on_filter_changed)
        state.events.hide_done.connect(lambda on: self.hide_done.setChecked(on))
        app_state.events.current_product_pk.connect(self._on_product_changed)

    # ---------------------------------------------------------------- filter

    def set_categories(self, categories: Sequence[str]) -> None:
        """The scope choices: all products, the selected one, then each category."""
        with QSignalBlocker(self.scope):
            self.scope.clear()
            self.scope.addItem("All products", "all")
            self.scope.addItem("This product", "product")
            for c in categories:
                self.scope.addItem(f"Category: {c or '(none)'}", "category:" + c)
            self._show_filter(self._state.filter)

    def _picked_filter(self) -> QueueFilter:
        kind, _, value = (self.scope.currentData() or "all").partition(":")
        return self._state.filter.with_(
            product_pk=self._app.current_product_pk if kind == "product" else None,
            category=value if kind == "category" else None,
            direction=self.direction.currentData(),
            held_out_only=self.held_out.isChecked(),
        )

    def _on_filter_picked(self, *_args) -> None:
        self._state.filter = self._picked_filter()

    def _on_product_changed(self, _pk) -> None:
        if self._state.filter.product_pk is not None and self._app.current_product_pk is not None:
            self._state.filter = self._state.filter.with_(product_pk=self._app.current_product_pk)

    def _show_filter(self, f: QueueFilter) -> None:
        scope = "product" if f.product_pk is not None else ("category:" + f.category if f.category is not None else "all")
        index = max(0, self.scope.findData(scope))
        for combo, i in ((self.scope, index), (self.direction, max(0, self.direction.findData(f.direction)))):
            if combo.currentIndex() != i:
                with QSignalBlocker(combo):
                    combo.setCurrentIndex(i)
        if self.held_out.isChecked() != f.held_out_only:
            with QSignalBlocker(self.held_out):
                self.held_out.setChecked(f.held_out_only)

    def _on_filter_changed(self, f: QueueFilter) -> None:
        self._show_filter(f)
        self.reload()

    def reload(self) -> None:
        self._generation += 1
        gen = self._generation
        if self._app.model_version_id is None or self._store.db is None:
            self._state.set_items(())
            self.status.setText("no active model: nothing to compare")
            return
        self.status.setText("computing\u2026")
        self._store.call(
            queries.load_disagreements, self._app.model_version_id, self._state.mode, queue_filter=self._state.filter,
            background=True, on_result=lambda items: self._on_loaded(gen, items),
        )

    def _on_loaded(self, gen: int, items) -> None:
        if gen == self._generation:
            self._state.set_items(items)

    def _on_items_changed(self, items) -> None:
        state = self._state
        if state.all_items:
            self.status.setText(state.progress())
        else:
            where = state.filter.describe()
            self.status.setText(f"no disagreements ({where})" if where else "no disagreements")
        self.status.setToolTip(f"Built from: {state.filter.describe() or 'every scored product'}")
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

    def eventFilter(self, watched, event) -> bool:
        # Focus entering the list makes its highlighted item the review on screen: the keys
        # pressed next act on what the user sees highlighted, not on the table's review.
        if watched is self.view and event.type() == QEvent.Type.FocusIn and self._state.current is not None:
            self.item_selected.emit(self._state.current)
        return super().eventFilter(watched, event)

    def _on_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.item_selected.emit(self._state.current)
            self.open_requested.emit(index.data(KeyRole))
