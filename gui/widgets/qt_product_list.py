"""The product list: search, category filter and a sortable table of products."""
from __future__ import annotations

from typing import Optional, Sequence

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QSignalBlocker, Qt, QTimer
from PySide6.QtWidgets import QAbstractItemView, QComboBox, QHeaderView, QLabel, QLineEdit, QTableView, QVBoxLayout, QWidget

from ..models.product_model import FLAGGED, MAP, NDCG3, PRODUCT, REVIEWS, SCORED, ProductFilterProxy, ProductTableModel
from ..models.roles import KeyRole
from ..state.app_state import AppState
from ..state.product_list import ALL_CATEGORIES, ProductListState
from ..theme import icon


class QtProductList(QWidget):
    """Binds :class:`ProductListState` (search, category) and ``app_state.current_product_pk``."""

    def __init__(self, model: ProductTableModel, state: ProductListState, app_state: AppState,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._state = state
        self._app = app_state
        self.title = QLabel("Products", self, objectName="paneTitle")
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search title or id\u2026")
        self.search.setClearButtonEnabled(True)
        self.search.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self._debounce = QTimer(self, singleShot=True, interval=150)
        self._debounce.timeout.connect(lambda: setattr(self._state, "search", self.search.text()))
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.category = QComboBox(self)
        self.category.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.category.setMinimumContentsLength(12)
        self.category.addItem("All categories", ALL_CATEGORIES)
        self.category.currentIndexChanged.connect(self._on_category_picked)
        self.proxy = ProductFilterProxy(state, self)
        self.proxy.setSourceModel(model)
        self.view = QTableView(self)
        self.view.setObjectName("productTable")
        self.view.setModel(self.proxy)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setAlternatingRowColors(True)
        self.view.setShowGrid(False)
        self.view.setWordWrap(False)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(24)
        header = self.view.horizontalHeader()
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(PRODUCT, Qt.SortOrder.AscendingOrder)
        header.sectionClicked.connect(self._on_header_clicked)
        self._sort = (PRODUCT, Qt.SortOrder.AscendingOrder)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(PRODUCT, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(28)
        for col, width in ((REVIEWS, 66), (FLAGGED, 30), (SCORED, 60), (MAP, 44), (NDCG3, 44)):
            header.resizeSection(col, width)
        self.count = QLabel("", self, objectName="muted")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.search)
        layout.addWidget(self.category)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.count)

        self.view.selectionModel().currentRowChanged.connect(self._on_current_row_changed)
        state.events.category.connect(self._on_category_changed)
        state.events.search.connect(self._on_search_changed)
        app_state.events.current_product_pk.connect(self._on_current_product_changed)
        for signal in (self.proxy.rowsInserted, self.proxy.rowsRemoved, self.proxy.modelReset, self.proxy.layoutChanged):
            signal.connect(self._on_rows_changed)

    NARROW_PX = 360
    """Below this width the Scored and N@3 columns step aside so product names stay readable
    (a 1280 px laptop gives this pane ~300 px); the scored count stays in the Reviews tooltip,
    and the columns come back when the pane is widened."""

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().resizeEvent(event)
        narrow = self.width() < self.NARROW_PX
        for col in (SCORED, NDCG3):
            if self.view.isColumnHidden(col) != narrow:
                self.view.setColumnHidden(col, narrow)

    def _on_header_clicked(self, section: int) -> None:
        asc, desc = Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder
        last_section, last_order = self._sort
        if section == last_section:
            order = desc if last_order == asc else asc
        else:
            order = asc if section == PRODUCT else desc  # numbers: biggest first
        self._sort = (section, order)
        self.view.horizontalHeader().setSortIndicator(section, order)  # overrides Qt's own flip
        if section == PRODUCT and order == Qt.SortOrder.AscendingOrder:
            self.proxy.sort(-1)  # the source model is in title order already
        else:
            self.proxy.sort(section, order)

    def set_categories(self, categories: Sequence[str]) -> None:
        with QSignalBlocker(self.category):
            self.category.clear()
            self.category.addItem("All categories", ALL_CATEGORIES)
            for c in categories:
                self.category.addItem(c or "(none)", c)
            index = self.category.findData(self._state.category)
            self.category.setCurrentIndex(max(0, index))
        if index < 0:
            self._state.category = ALL_CATEGORIES

    def _on_category_picked(self, index: int) -> None:
        self._state.category = self.category.itemData(index) or ALL_CATEGORIES

    def _on_category_changed(self, category: str) -> None:
        index = self.category.findData(category)
        if index >= 0 and index != self.category.currentIndex():
            with QSignalBlocker(self.category):
                self.category.setCurrentIndex(index)

    def _on_search_changed(self, text: str) -> None:
        if self.search.text() != text:
            with QSignalBlocker(self.search):
                self.search.setText(text)

    def _on_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self._app.current_product_pk = current.data(KeyRole)

    def _on_current_product_changed(self, pk: Optional[int]) -> None:
        self.select_product(pk)

    def select_product(self, pk: Optional[int]) -> None:
        if pk is None:
            return
        current = self.view.currentIndex()
        if current.isValid() and current.data(KeyRole) == pk:
            return
        row = self._model.row_of(pk)
        if row is None:
            return
        index = self.proxy.mapFromSource(self._model.index(row, PRODUCT))
        if index.isValid():
            self.view.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            )
            self.view.scrollTo(index)

    def is_listed(self, pk: int) -> bool:
        """Does the list show this product (its search and category let it through)?"""
        row = self._model.row_of(pk)
        return row is not None and self.proxy.mapFromSource(self._model.index(row, PRODUCT)).isValid()

    def select_first(self) -> None:
        index = self.proxy.index(0, PRODUCT)
        if index.isValid():
            self.view.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            )

    def _on_rows_changed(self, *_args) -> None:
        shown, total = self.proxy.rowCount(), self._model.rowCount()
        self.count.setText(f"{total} products" if shown == total else f"{shown} of {total} products")
