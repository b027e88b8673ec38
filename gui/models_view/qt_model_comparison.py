"""Two model versions side by side: metrics, per-product AP deltas, the reviews that moved most
(tab "Rankings"), and how their scores drift on the unflagged reviews (tab "Drift")."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QHeaderView, QLabel, QSplitter, QTableView, QTabWidget, QVBoxLayout, QWidget,
)

from ..models.roles import SortRole
from .compare import Comparison
from .qt_drift import QtDrift
from .state import ModelsViewState
from .table_models import metric_table, moves_table, product_table


def _table(parent: QWidget, model, elide: int = -1, elide_width: int = 150) -> QTableView:
    proxy = QSortFilterProxyModel(parent)
    proxy.setSourceModel(model)
    proxy.setSortRole(SortRole)
    view = QTableView(parent)
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # biggest change first until clicked
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(22)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    if elide >= 0:  # a text column of fixed width, so the numbers stay in sight
        header.setSectionResizeMode(elide, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(elide, elide_width)
    header.setStretchLastSection(True)
    return view


class QtModelComparison(QWidget):
    """Binds to :class:`ModelsViewState` ``comparison`` and ``comparing``.

    Signals
    -------
    review_requested(int, int)
        Double click on a moved review (rank or drift): its product's and its own primary key.
    """

    review_requested = Signal(int, int)

    def __init__(self, state: ModelsViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.title = QLabel("Select one model (compared with its parent) or two models to compare them.",
                            self, objectName="muted")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        self.metrics_model = metric_table(self)
        self.products_model = product_table(self)
        self.moves_model = moves_table(self)
        self.metrics_view = _table(self, self.metrics_model)
        self.products_view = _table(self, self.products_model, elide=1, elide_width=130)
        self.moves_view = _table(self, self.moves_model, elide=1, elide_width=190)
        self.moves_view.doubleClicked.connect(self._on_move_activated)
        tables = QSplitter(Qt.Orientation.Horizontal, self)
        for caption, view in (("Registered metrics", self.metrics_view), ("Per-product AP (vote labels)", self.products_view),
                              ("Reviews whose rank moved most", self.moves_view)):
            box = QWidget(tables)
            col = QVBoxLayout(box)
            col.setContentsMargins(0, 0, 0, 0)
            col.setSpacing(2)
            col.addWidget(QLabel(caption, box, objectName="muted"))
            col.addWidget(view, 1)
            tables.addWidget(box)
        tables.setSizes([300, 390, 440])
        self.drift = QtDrift(state, _table, self)
        self.drift.review_requested.connect(self.review_requested)
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(tables, "Rankings")
        self.tabs.addTab(self.drift, "Drift (unflagged reviews)")
        self.tabs.setTabToolTip(1, "How B's score and five sub-scores differ from A's on the reviews nobody flagged")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.tabs, 1)
        state.events.comparison.connect(self._on_comparison_changed)
        state.events.comparing.connect(self._on_comparing_changed)

    def _on_comparing_changed(self, busy: bool) -> None:
        if busy:
            self.title.setText("Comparing\u2026")

    def _on_comparison_changed(self, comp: Optional[Comparison]) -> None:
        if comp is None:
            for m in (self.metrics_model, self.products_model, self.moves_model):
                m.set_rows([])
            self.title.setText("Select one model (compared with its parent) or two models to compare them.")
            return
        mean = comp.mean_ap_delta
        self.title.setText(
            f"A = {comp.a.name}, B = {comp.b.name}: {comp.common_reviews} reviews scored by both "
            f"({comp.scored_a} by A, {comp.scored_b} by B)"
            + (f"; mean per-product AP change {mean:+.1f}" if mean is not None else "")
            + ("" if comp.common_reviews else ". Score both models to compare their rankings.")
        )
        self.metrics_model.set_rows(comp.metrics)
        self.products_model.set_rows(comp.products)
        self.moves_model.set_rows(comp.moves)

    def _on_move_activated(self, index) -> None:
        source = self.moves_view.model().mapToSource(index)
        move = self.moves_model.record(source.row())
        if move is not None and move.row is not None:
            self.review_requested.emit(move.row.product_pk, move.review_pk)
