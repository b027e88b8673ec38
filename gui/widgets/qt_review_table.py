"""The review table of the selected product: header with counts, filter bar, lazy table."""
from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QObject, QPoint, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QMenu, QTableView, QVBoxLayout, QWidget

from ..models.review_table_model import ReviewTableModel
from ..models.roles import KeyRole
from ..state.app_state import AppState
from ..state.columns import COLUMN_INDEX, REVIEW_COLUMNS, ColumnKind
from ..state.review_table import ReviewTableState
from .qt_review_filter_bar import QtReviewFilterBar
from .qt_score_delegate import QtScoreCellDelegate
from .qt_reason_delegate import QtReasonDelegate
from .qt_subscore_delegate import QtSubScoreBarDelegate

_ASCENDING_FIRST = {"rank", "review", "review_id"}
_WIDTHS = {"rank": 46, "review": 164, "score": 56, "label": 42, "votes": 46, "rating": 30, "flag": 104, "date": 84,
           "top_reason": 190, "second_reason": 170}  # "review length +0.42" reads whole; longer names elide
SUBSCORE_WIDTH = 46
"""Bar plus a one-decimal value; the two-line header ("p_t" over "r_t") fits it."""


class QtReviewTable(QWidget):
    """Shows :class:`ReviewTableModel`; the selection drives ``app_state.current_review_pk``.

    Signals
    -------
    open_requested(int)
        Enter or double click on a review (its primary key).
    """

    open_requested = Signal(int)
    reveal_failed = Signal(int)
    """:meth:`reveal` gave up: the review is not among the table's rows (its filters hide it)."""

    def __init__(self, model: ReviewTableModel, app_state: AppState, table_state: ReviewTableState,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._app = app_state
        self._state = table_state
        self._reveal: Optional[int] = None  # a review to select once its page is loaded
        self._after_paint: list = []  # what waits for the next paint of the rows (after_paint)
        self._release: Optional[Callable[[], None]] = None  # of the store's hold while that waits
        self.title = QLabel("Reviews", self, objectName="paneTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.counts = QLabel("", self, objectName="muted")
        self.filter_bar = QtReviewFilterBar(table_state, self)
        self.view = QTableView(self)
        self.view.setObjectName("reviewTable")
        self.view.setModel(model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # Ctrl/Shift+click and Ctrl+A select several reviews (bulk flag); J/K and clicks select one.
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.setShowGrid(False)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(24)
        self._delegate = QtSubScoreBarDelegate(self.view)
        self._score_delegate = QtScoreCellDelegate(self.view)
        self._reason_delegate = QtReasonDelegate(self.view)
        self.view.setItemDelegateForColumn(COLUMN_INDEX["score"], self._score_delegate)
        header = self.view.horizontalHeader()
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSectionsMovable(True)
        header.setHighlightSections(False)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._on_header_menu)
        header.sectionClicked.connect(self._on_header_clicked)
        for i, col in enumerate(REVIEW_COLUMNS):
            if col.kind is ColumnKind.REASON:
                self.view.setItemDelegateForColumn(i, self._reason_delegate)
            if col.kind is ColumnKind.SUBSCORE:
                self.view.setItemDelegateForColumn(i, self._delegate)
                header.resizeSection(i, SUBSCORE_WIDTH)
            elif col.key in _WIDTHS:
                header.resizeSection(i, _WIDTHS[col.key])
        header.setStretchLastSection(False)
        header.setSectionResizeMode(COLUMN_INDEX["review"], QHeaderView.ResizeMode.Interactive)

        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.counts)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.filter_bar)
        layout.addWidget(self.view, 1)

        self.view.selectionModel().currentRowChanged.connect(self._on_current_row_changed)
        self.view.activated.connect(self._on_activated)
        model.loaded.connect(self._on_loaded)
        model.loading.connect(self._on_loading)
        model.modelReset.connect(self._on_model_reset)
        table_state.events.sort.connect(self._on_sort_changed)
        table_state.events.hidden_columns.connect(self._on_hidden_columns_changed)
        app_state.events.current_review_pk.connect(self._on_current_review_changed)
        self._on_sort_changed(table_state.sort)
        self._on_hidden_columns_changed(table_state.hidden_columns)

    # ------------------------------------------------------------ navigation

    def step(self, delta: int) -> None:
        """Select the review ``delta`` rows away (J/K), loading the next page near the end."""
        rows = self._model.rowCount()
        if rows == 0:
            return
        current = self.view.currentIndex().row()
        target = max(0, min(rows - 1, (current if current >= 0 else -1) + delta))
        self.select_row(target)
        if target >= rows - 5 and self._model.canFetchMore():
            self._model.fetchMore()

    def select_row(self, row: int) -> None:
        index = self._model.index(row, COLUMN_INDEX["review"])
        if not index.isValid():
            return
        self.view.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        )
        self.view.scrollTo(index)

    def reveal(self, review_pk: int) -> None:
        """Select ``review_pk`` in the table, loading the pages up to it (a search hit or a
        review opened from elsewhere may lie beyond the first page); ``reveal_failed`` when the
        current product's rows, as filtered, do not hold it."""
        self._reveal = review_pk
        self._try_reveal()

    def _try_reveal(self) -> bool:
        """One step of :meth:`reveal`; True while a reveal is under way or just finished."""
        pk = self._reveal
        if pk is None:
            return False
        row = self._model.row_of(pk)
        if row is not None:
            self._reveal = None
            self.select_row(row)
        elif self._model.is_loading:
            pass  # its page is on the way
        elif self._model.canFetchMore():
            self._model.fetchMore()
        else:
            self._reveal = None
            self.reveal_failed.emit(pk)
        return True

    def selected_review_pks(self) -> tuple[int, ...]:
        """The selected reviews (of the loaded rows), in the table's order."""
        rows: set[int] = set()
        for r in self.view.selectionModel().selection():
            rows.update(range(r.top(), r.bottom() + 1))
        pks = (self._model.review(row) for row in sorted(rows))
        return tuple(r.id for r in pks if r is not None)

    def current_review_pk(self) -> Optional[int]:
        index = self.view.currentIndex()
        return index.data(KeyRole) if index.isValid() else None

    def _on_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self._app.current_review_pk = current.data(KeyRole)

    def _on_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_requested.emit(index.data(KeyRole))

    def _on_current_review_changed(self, pk: Optional[int]) -> None:
        if self._reveal is not None and pk != self._reveal:
            self._reveal = None  # the user moved on
        if pk is None or pk == self.current_review_pk():
            return
        row = self._model.row_of(pk)
        if row is not None:
            self.select_row(row)
        else:
            self.view.selectionModel().clearSelection()

    def _on_model_reset(self) -> None:
        self.counts.setText("loading\u2026" if self._model.is_loading else "")

    def _on_loading(self, busy: bool) -> None:
        if busy and self._model.rowCount() == 0:
            self.counts.setText("loading\u2026")

    def _on_loaded(self, loaded: int, total: int) -> None:
        self.after_paint(self._model.load_changes)  # the rank-move arrows, once the rows are painted
        if total > loaded:
            self.after_paint(self._model.read_all_rows)  # the next sort of this product: in memory
        self.counts.setText(f"{total} reviews" if loaded >= total else f"{total} reviews \u00b7 {loaded} loaded")
        if self._try_reveal():
            return
        pk = self._app.current_review_pk
        row = self._model.row_of(pk) if pk is not None else None
        if row is not None:
            if self.view.currentIndex().row() != row:
                self.select_row(row)
        elif loaded and not self.view.currentIndex().isValid():
            # Start at the top, unless the review shown is this product's but not loaded yet
            # (picked in the disagreement queue): then keep it. The ranks of the loaded rows may be
            # all the model holds: then it asks the store whether the review is the product's.
            if pk is None:  # after the first paint: the review's detail shares the GIL with that paint
                self.after_paint(self._select_top)
            elif self._model.rank(pk) is None:
                self._model.find_rank(pk, lambda found: self._start_at_top(pk, found))

    def _select_top(self) -> None:
        if self._app.current_review_pk is None and not self.view.currentIndex().isValid() and self._model.rowCount():
            self.select_row(0)

    def _start_at_top(self, pk: int, found: bool) -> None:
        if not found and self._app.current_review_pk == pk and not self.view.currentIndex().isValid():
            self.select_row(0)

    def after_paint(self, fn) -> None:
        """Call ``fn`` once the table has painted the rows it holds (work that would share the GIL
        with that paint waits for it); at once when the table cannot paint (hidden) or is empty.
        A minimised window paints on its return, and ``fn`` waits until then."""
        viewport = self.view.viewport()
        if not viewport.isVisible() or self._model.rowCount() == 0:
            fn()
            return
        if not self._after_paint:
            viewport.installEventFilter(self)
            self._release = self._model.store.hold()  # the store counts as busy until it runs
        self._after_paint.append(fn)
        viewport.update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # painted, or hidden before it painted (another tab): the waiting work goes on either way
        if event.type() in (QEvent.Type.Paint, QEvent.Type.Hide) and self._after_paint and watched is self.view.viewport():
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self, self._run_after_paint)  # after this paint event is handled
        return super().eventFilter(watched, event)

    def _run_after_paint(self) -> None:
        fns, self._after_paint = self._after_paint, []
        release, self._release = self._release, None
        try:
            for fn in fns:
                fn()
        finally:
            if release is not None:
                release()  # after ``fns`` started their jobs: busy throughout

    def add_bar(self, bar: QWidget) -> None:
        """Show ``bar`` between the filter bar and the table (e.g. the scoring bar)."""
        layout = self.layout()
        layout.insertWidget(layout.indexOf(self.view), bar)

    def set_product_title(self, text: str) -> None:
        self.title.setText(f"Reviews of \u201c{text}\u201d" if text else "Reviews")

    # ------------------------------------------------------------ sorting and columns

    def _on_header_clicked(self, section: int) -> None:
        col = REVIEW_COLUMNS[section]
        if col.order_by is None:
            self._on_sort_changed(self._state.sort)  # keep the indicator on the sorted column
            return
        if col.key == self._state.sort_column:
            self._state.sort = (col.key, not self._state.ascending)
        else:
            self._state.sort = (col.key, col.key in _ASCENDING_FIRST)

    def _on_sort_changed(self, sort: tuple[str, bool]) -> None:
        key, ascending = sort
        order = Qt.SortOrder.AscendingOrder if ascending else Qt.SortOrder.DescendingOrder
        self.view.horizontalHeader().setSortIndicator(COLUMN_INDEX[key], order)

    def _on_header_menu(self, pos: QPoint) -> None:
        self.column_menu().exec(self.view.horizontalHeader().mapToGlobal(pos))

    def column_menu(self, parent: QWidget | None = None) -> QMenu:
        """Check boxes to show or hide each column (also used by View > Columns)."""
        menu = QMenu("Columns", parent or self)
        actions = {}
        for col in REVIEW_COLUMNS:
            action = menu.addAction(col.header if col.key != "rating" else "\u2605 Rating")
            action.setCheckable(True)
            action.setEnabled(col.key != "review")
            action.toggled.connect(lambda checked, k=col.key: self._state.set_column_hidden(k, not checked))
            actions[col.key] = action

        def sync() -> None:  # a long-lived menu must show the current state when opened
            for key, action in actions.items():
                with QSignalBlocker(action):
                    action.setChecked(key not in self._state.hidden_columns)

        sync()
        menu.aboutToShow.connect(sync)
        return menu

    def sync_from_state(self) -> None:
        """Apply the state's hidden columns and sort to the header (after restoring a layout)."""
        self._on_hidden_columns_changed(self._state.hidden_columns)
        self._on_sort_changed(self._state.sort)

    def visible_columns(self) -> tuple[str, ...]:
        """Keys of the shown columns, in the order the header shows them."""
        header = self.view.horizontalHeader()
        keys = [REVIEW_COLUMNS[header.logicalIndex(v)].key for v in range(header.count())]
        return tuple(k for k in keys if k not in self._state.hidden_columns)

    def set_visible_columns(self, keys) -> None:
        """Show exactly ``keys`` (the review column always), in that order, the others after them."""
        keys = [k for k in dict.fromkeys(keys) if k in COLUMN_INDEX]
        if "review" not in keys:
            keys.insert(0, "review")
        header = self.view.horizontalHeader()
        order = keys + [c.key for c in REVIEW_COLUMNS if c.key not in keys]
        for visual, key in enumerate(order):
            current = header.visualIndex(COLUMN_INDEX[key])
            if current != visual:
                header.moveSection(current, visual)
        self._state.hidden_columns = frozenset(c.key for c in REVIEW_COLUMNS if c.key not in keys)

    def _on_hidden_columns_changed(self, hidden) -> None:
        for i, col in enumerate(REVIEW_COLUMNS):
            self.view.setColumnHidden(i, col.key in hidden)
