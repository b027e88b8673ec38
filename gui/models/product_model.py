"""The product list: one row per product with counts and the active model's metrics."""
from __future__ import annotations

from typing import Any, Optional, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt

from storage.records import ProductSummary

from ..queries import product_list_key
from ..state.product_list import ProductListState
from .formatting import NOT_SCORED, fmt_float, plain_tooltip
from .roles import KeyRole, RecordRole, SortRole

Index = QModelIndex | QPersistentModelIndex
_COLUMNS = ("Product", "Reviews", "\u2691", "Scored", "MAP", "N@3")
_TIPS = (
    "Product title (or id when it has none)",
    "Reviews of the product",
    "Flagged: reviews with an active flag",
    "Reviews scored by the active model",
    "Mean average precision of the active model against the vote labels (x100)",
    "NDCG@3 of the active model against the vote labels (x100)",
)
PRODUCT, REVIEWS, FLAGGED, SCORED, MAP, NDCG3 = range(len(_COLUMNS))


class ProductTableModel(QAbstractTableModel):
    """Products with their counts; metrics arrive later from a worker."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._products: list[ProductSummary] = []
        self._metrics: dict[str, dict[str, float]] = {}
        self._row_of: dict[int, int] = {}

    # ------------------------------------------------------------ Qt API

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._products)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(_COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return _COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return _TIPS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._products):
            return None
        p = self._products[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(p, col)
        if role == SortRole:
            return self._sort_value(p, col)
        if role == RecordRole:
            return p
        if role == KeyRole:
            return p.id
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == REVIEWS:
                return f"{p.n_reviews} reviews, {p.n_labeled} labelled by votes, {p.n_scored} scored, {p.n_flagged} flagged"
            if col == SCORED and not p.n_scored:
                return NOT_SCORED + " by the active model"
            if col == PRODUCT:
                return plain_tooltip(f"{p.title or '(no title)'}\n{p.product_id} \u00b7 {p.category or 'no category'} \u00b7 {p.split}")
            if col in (MAP, NDCG3) and p.product_id not in self._metrics:
                return "No scored, labelled review under the active model"
        if role == Qt.ItemDataRole.TextAlignmentRole and col != PRODUCT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _metric(self, p: ProductSummary, name: str) -> Optional[float]:
        m = self._metrics.get(p.product_id)
        return None if m is None else m.get(name)

    def _display(self, p: ProductSummary, col: int) -> str:
        if col == PRODUCT:
            return p.title or p.product_id
        if col == REVIEWS:
            return str(p.n_reviews)
        if col == FLAGGED:
            return str(p.n_flagged) if p.n_flagged else ""
        if col == SCORED:
            return str(p.n_scored) if p.n_scored else "\u2013"
        value = self._metric(p, "AP" if col == MAP else "NDCG@3")
        return "\u2013" if value is None else fmt_float(value, 1)

    def _sort_value(self, p: ProductSummary, col: int) -> Any:
        if col == PRODUCT:
            return (p.title or p.product_id).casefold()
        if col == REVIEWS:
            return p.n_reviews
        if col == FLAGGED:
            return p.n_flagged
        if col == SCORED:
            return p.n_scored
        value = self._metric(p, "AP" if col == MAP else "NDCG@3")
        return -1.0 if value is None else value

    # ------------------------------------------------------------ updates

    def set_products(self, products: Sequence[ProductSummary]) -> None:
        """Replace the products; they are kept in title order, the list's default order,
        so the proxy need not sort thousands of rows through Python calls."""
        self.beginResetModel()
        self._products = sorted(products, key=product_list_key)
        self._row_of = {p.id: i for i, p in enumerate(self._products)}
        self.endResetModel()

    def set_metrics(self, metrics: dict[str, dict[str, float]]) -> None:
        self._metrics = dict(metrics)
        if self._products:
            self.dataChanged.emit(self.index(0, MAP), self.index(len(self._products) - 1, NDCG3))

    def update_product(self, product: ProductSummary) -> None:
        row = self._row_of.get(product.id)
        if row is None:
            return
        self._products[row] = product
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(_COLUMNS) - 1))

    def product(self, pk: int) -> Optional[ProductSummary]:
        row = self._row_of.get(pk)
        return None if row is None else self._products[row]

    def row_of(self, pk: int) -> Optional[int]:
        return self._row_of.get(pk)

    def find(self, product_id: str) -> Optional[ProductSummary]:
        """The product with this catalogue id (stable across re-imports, unlike its key)."""
        return next((p for p in self._products if p.product_id == product_id), None)


class ProductFilterProxy(QSortFilterProxyModel):
    """Filters products by :class:`ProductListState` (search, category); sorts on raw values."""

    def __init__(self, state: ProductListState, parent=None) -> None:
        super().__init__(parent)
        self._state = state
        self._filtering = self._filters()
        self.setSortRole(SortRole)
        state.events.search.connect(self._on_filter_changed)
        state.events.category.connect(self._on_filter_changed)

    def _filters(self) -> bool:
        return bool(self._state.search.strip() or self._state.category)

    def _on_filter_changed(self, _value=None) -> None:
        self.beginFilterChange()
        self._filtering = self._filters()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if not self._filtering:  # every row (a catalogue's thousands of products, on each open)
            return True
        product = self.sourceModel().index(source_row, 0, source_parent).data(RecordRole)
        return product is not None and self._state.accepts(product)
