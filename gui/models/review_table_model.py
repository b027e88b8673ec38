"""The review table: lazily loaded pages of one product's reviews, sorted and filtered in SQL.

Rows arrive in pages of :data:`gui.queries.PAGE_SIZE` through ``fetchMore``; a product
with 10,000 reviews shows its first page at once. Sorting and filtering happen in the
query, because a proxy model could only sort the rows already loaded.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor

from storage.models import SUBSCORE_COLUMNS
from storage.records import ProductSubScores, ReviewFilter, ReviewRow

from .. import queries
from ..models_view.queries import TableChanges, table_changes
from ..state.app_state import AppState
from ..state.columns import COLUMN_INDEX, REVIEW_COLUMNS, ColumnKind, reason_index, subscore_index
from ..state.score_waterfall import NO_EXPLANATION, part_text
from ..state.subscores import subscore_view
from storage.ranking import RankInfo
from ..state.review_table import ReviewQuery, ReviewTableState
from ..store import Store
from .formatting import NOT_SCORED, fmt_date, fmt_flag, fmt_float, one_line, plain_tooltip
from .roles import KeyRole, ProgressRole, RecordRole, SortRole, SubScoreRole, ValueRole

Index = QModelIndex | QPersistentModelIndex
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
# Roles as plain ints, looked up once: a repaint asks data() about a dozen roles per visible cell,
# most of which the table does not answer (decoration, font, background...), and comparing with
# Qt.ItemDataRole members built an enum object per comparison (stop 26: data() was half of a repaint).
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_RECORD, _KEY, _VALUE, _SUBSCORE, _PROGRESS, _SORT = (int(r) for r in (RecordRole, KeyRole, ValueRole, SubScoreRole,
                                                                        ProgressRole, SortRole))
_ANSWERED = frozenset({_DISPLAY, _TOOLTIP, _ALIGN, _FOREGROUND, _RECORD, _KEY, _VALUE, _SUBSCORE, _PROGRESS, _SORT})
_ITEM_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
_NUMERIC = (ColumnKind.NUMBER, ColumnKind.SUBSCORE)
_GREY = QColor(128, 128, 128)
RANK_UP, RANK_DOWN = QColor(30, 140, 70), QColor(192, 57, 43)  # rank moved against the previous model
# the orders the table can sort in memory (``storage.repository.catalogue._ORDERABLE`` keys): the row's value
_IN_MEMORY = {
    "score": lambda r: r.score, "label": lambda r: r.label, "votes": lambda r: r.helpful_votes,
    "rating": lambda r: r.rating, "time": lambda r: r.time, "review_id": lambda r: r.review_id, "id": lambda r: r.id,
    **{name: (lambda r, i=i: r.sub_scores[i]) for i, name in enumerate(SUBSCORE_COLUMNS)},
}


class ReviewTableModel(QAbstractTableModel):
    """Reviews of ``app_state.current_product_pk`` as ``table_state`` sorts and filters them.

    Signals
    -------
    loaded(int, int)
        Rows loaded so far and rows in the view, after each page.
    loading(bool)
        A query is running.
    """

    loaded = Signal(int, int)
    loading = Signal(bool)

    def __init__(self, store: Store, app_state: AppState, table_state: ReviewTableState, parent=None) -> None:
        super().__init__(parent)
        self._store = store
        self._app = app_state
        self._table = table_state
        self._rows: list[ReviewRow] = []
        self._row_of: dict[int, int] = {}
        self._total = 0
        self._ranks: dict[int, RankInfo] = {}
        self._subscores: Optional[ProductSubScores] = None
        self._among: Optional[tuple[int, ...]] = None
        self._query: Optional[ReviewQuery] = None
        self._known_key: Optional[tuple] = None  # (product, model) that _ranks/_subscores belong to
        self._known: Optional[tuple] = None  # every review's (ranks, sub-scores), once read
        self._partial = False  # _ranks/_subscores hold the loaded rows' only (each page brings its own)
        self._generation = 0
        self._pending = False
        self._changes: Optional[TableChanges] = None  # rank moves and resolved flags (training panel)
        self._changes_generation = 0
        self._changes_due: Optional[tuple] = None  # (product, model) whose rank moves the first page asks for
        # (cell text, tooltip, fraction or -1) of unscored rows while a job scores them
        self._scoring: Optional[tuple[str, str, float]] = None
        # every row of the product (unfiltered, review-id order) once a background job read them: a
        # sort of the same product and model then happens here, as in the query (NULLs last, ties by id)
        self._all: Optional[tuple[tuple, list[ReviewRow]]] = None
        self._all_generation = 0
        self._all_pending: Optional[tuple] = None  # (product, model) whose rows are being read
        self._memory: Optional[list[ReviewRow]] = None  # the sorted rows the pages come from, when in memory
        self._offered: Optional[queries.ReviewPage] = None  # a first page read ahead (offer_first_page)
        table_state.events.sort.connect(self._on_query_changed)
        table_state.events.filter.connect(self._on_query_changed)
        app_state.events.current_product_pk.connect(self._on_query_changed)
        app_state.events.active_model.connect(self._on_query_changed)

    # ------------------------------------------------------------ loading

    def _on_query_changed(self, _value=None) -> None:
        self._load(from_memory=True)

    def reload(self, fresh: bool = False) -> None:
        """Drop the rows and read the first page of the current query from the store again
        (another process may have changed them: a colleague's flags, a refresh).

        Ranks and the product's sub-scores are kept across sort and filter changes of the same
        product and model; ``fresh`` recomputes them (after an import or a rescoring).
        """
        self._forget_all_rows()
        self._load(fresh=fresh)

    def _load(self, fresh: bool = False, from_memory: bool = False) -> None:
        """The first page of the current query; a sort or filter change (``from_memory``) of a
        product whose rows were all read is answered from them, without a query."""
        self._generation += 1
        gen = self._generation
        self.beginResetModel()
        self._rows, self._row_of, self._total = [], {}, 0
        self._ranks, self._subscores, self._among = {}, None, None
        self._partial = False
        self._pending = False
        self._memory = None
        self.endResetModel()
        self._query = self._table.query(self._app.current_product_pk, self._app.model_version_id)
        if self._query.product_pk is None or self._store.db is None:
            self.loaded.emit(0, 0)
            return
        key = (self._query.product_pk, self._query.model_version_id)
        if fresh:  # scores or reviews changed: nothing computed before holds (the detail asks too)
            self._forget_all_rows()
            self._known_key, self._known = None, None
        known = self._known if (not fresh and key == self._known_key) else None
        memory = self._sorted_in_memory() if (known is not None and from_memory) else None
        if memory is not None:  # the same rows in another order: no query, no thread hop
            self._memory = memory
            self._on_first_page(gen, queries.ReviewPage(self._query, 0, memory[:queries.PAGE_SIZE], len(memory),
                                                        known[0], known[1], None))
            return
        if key != self._known_key:  # another product or model (or fresh): its rank moves, after its first page
            self._changes = None
            self._changes_generation += 1
            self._changes_due = key
        self._pending = True
        self.loading.emit(True)
        offered, self._offered = self._offered, None
        if offered is not None and known is None and offered.query == self._query:
            self._on_first_page(gen, offered)  # read with the status (opening a database)
            return
        self._store.call(
            queries.open_reviews, self._query, known=known,
            on_result=lambda page: self._on_first_page(gen, page), on_error=lambda exc: self._on_failed(gen, exc),
        )

    def probable_first_query(self) -> ReviewQuery:
        """The table's sort and filter, product and model left open (:func:`queries.first_page_guess`)."""
        return self._table.query(None, None)

    def offer_first_page(self, page: Optional[queries.ReviewPage]) -> None:
        """A first page read ahead (opening a database reads the most likely one with the status):
        the next first-page query uses it if it asks for exactly that page; any other drops it."""
        self._offered = page

    def _on_first_page(self, gen: int, page: queries.ReviewPage) -> None:
        if gen != self._generation:
            return
        self._pending = False
        self._total, self._ranks, self._subscores, self._among = page.total, page.ranks, page.subscores, page.among
        self._partial = not page.complete
        key = (page.query.product_pk, page.query.model_version_id)
        if page.complete:
            self._known = (page.ranks, page.subscores)
        elif key == self._known_key and self._known is not None:  # every review's, read meanwhile
            self._ranks, self._subscores = self._known
            self._partial = False
        else:
            self._known = None
        self._known_key = key
        self._append(page.rows)
        self.loading.emit(False)
        self.loaded.emit(len(self._rows), self._total)

    def load_changes(self) -> None:
        """Read the rank moves and resolved flags of the product shown, when its first page asked
        for them (the arrows are extra: the table calls this once that page is painted)."""
        due, self._changes_due = self._changes_due, None
        if due is not None and due == self._known_key and self._store.db is not None:
            cgen = self._changes_generation
            self._store.call(table_changes, *due, on_result=lambda ch: self._on_changes(cgen, ch),
                             on_error=lambda _exc: None)  # no error dialog for them either

    def _sorted_in_memory(self) -> Optional[list[ReviewRow]]:
        """The product's rows in the query's order, when they are all here and the query is one
        memory can answer (no filter, a plain column, no scoring job changing the scores); else None."""
        q = self._query
        value = _IN_MEMORY.get(q.order_by) if q is not None else None
        if (value is None or self._all is None or self._all[0] != (q.product_pk, q.model_version_id)
                or q.flt != ReviewFilter() or self._scoring is not None):
            return None
        rows = self._all[1]  # in review-id order: sorts are stable, so ties stay by id either way
        present = sorted((r for r in rows if value(r) is not None), key=value, reverse=q.descending)
        return present + [r for r in rows if value(r) is None]

    def read_all_rows(self) -> None:
        """When the table shows a product with more than one page: read all its rows behind the
        analytics (background), so that the next sort of the same product is done in memory.
        The table calls it once it has painted a page."""
        q = self._query
        if (q is None or q.product_pk is None or q.flt != ReviewFilter() or self._total <= len(self._rows)
                or self._store.db is None):
            return
        key = (q.product_pk, q.model_version_id)
        if (self._all is not None and self._all[0] == key) or self._all_pending == key:
            return
        self._all = None
        self._all_generation += 1
        agen = self._all_generation
        self._all_pending = key

        def done(found: queries.AllRows) -> None:
            if agen != self._all_generation:
                return
            self._all, self._all_pending = (key, found.rows), None
            if self._known_key == key and self._known is None:  # every review's ranks now
                self._known = (found.ranks, found.subscores)
                if self._partial and self._query is not None and key == (self._query.product_pk,
                                                                         self._query.model_version_id):
                    self._ranks, self._subscores, self._partial = found.ranks, found.subscores, False

        def failed(_exc) -> None:
            if agen == self._all_generation:
                self._all_pending = None

        self._store.call(queries.all_reviews, *key, background=True, on_result=done, on_error=failed)

    def _on_changes(self, gen: int, changes: TableChanges) -> None:
        if gen != self._changes_generation or self._query is None or (
                changes.product_pk, changes.model_version_id) != (self._query.product_pk, self._query.model_version_id):
            return
        self._changes = changes
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(REVIEW_COLUMNS) - 1))

    def rank_move(self, review_pk: int):
        """How the review's rank moved against the previous model (a RankMove), or None."""
        return self._changes.moves.get(review_pk) if self._changes is not None else None

    def _on_more(self, gen: int, page: queries.ReviewPage) -> None:
        if gen != self._generation:
            return
        self._pending = False
        if page.offset == len(self._rows):
            if not page.rows:  # the table shrank under us (e.g. a flag undone while "only flagged")
                self._total = len(self._rows)
            if self._partial and not page.complete:  # the ranks and percentiles of the page's rows
                self._ranks.update(page.ranks)
                if self._subscores is not None and page.subscores is not None:
                    self._subscores.percentiles.update(page.subscores.percentiles)
            elif self._partial and page.ranks:  # no longer stored: every review's, computed
                self._ranks, self._subscores, self._partial = page.ranks, page.subscores, False
            self._append(page.rows)
        self.loading.emit(False)
        self.loaded.emit(len(self._rows), self._total)

    def _on_failed(self, gen: int, exc: Exception) -> None:
        if gen != self._generation:
            return
        self._pending = False
        self.loading.emit(False)
        self._store.failed.emit("Could not load reviews", str(exc))

    def _append(self, rows: Sequence[ReviewRow]) -> None:
        if not rows:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        for i, r in enumerate(rows, start=first):
            self._row_of[r.id] = i
        self._rows.extend(rows)
        self.endInsertRows()

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:
        return not parent.isValid() and not self._pending and len(self._rows) < self._total

    def fetchMore(self, parent: Index = QModelIndex()) -> None:
        if not self.canFetchMore(parent) or self._query is None:
            return
        if self._memory is not None:
            self._append(self._memory[len(self._rows):len(self._rows) + queries.PAGE_SIZE])
            self.loaded.emit(len(self._rows), self._total)
            return
        self._pending = True
        gen = self._generation
        self.loading.emit(True)
        self._store.call(
            queries.more_reviews, self._query, len(self._rows), self._among, with_ranks=self._partial,
            on_result=lambda page: self._on_more(gen, page), on_error=lambda exc: self._on_failed(gen, exc),
        )

    @property
    def store(self) -> Store:
        return self._store

    @property
    def is_loading(self) -> bool:
        return self._pending

    @property
    def total(self) -> int:
        return self._total

    @property
    def query(self) -> Optional[ReviewQuery]:
        return self._query

    # ------------------------------------------------------------ rows

    def review(self, row: int) -> Optional[ReviewRow]:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, review_pk: int) -> Optional[int]:
        return self._row_of.get(review_pk)

    def known(self) -> Optional[tuple]:
        """``(product_pk, model_version_id, ranks, sub-scores or None)`` of the product shown, once
        computed (the review detail reuses them), else None."""
        if self._known_key is None or self._known is None:
            return None
        return (*self._known_key, *self._known)

    def rank(self, review_pk: int) -> Optional[RankInfo]:
        return self._ranks.get(review_pk)

    def find_rank(self, review_pk: int, done) -> None:
        """``done(True)`` when ``review_pk`` is a review of the product shown (its rank is then
        known: :meth:`rank`), ``done(False)`` when not; asks the store when the ranks held are
        those of the loaded rows only."""
        q = self._query
        if review_pk in self._ranks or not self._partial or q is None or q.product_pk is None:
            done(review_pk in self._ranks)
            return
        gen = self._generation

        def found(ranks: dict) -> None:
            if gen != self._generation:  # another query since: its own first page asks again
                return
            if self._partial:
                self._ranks.update(ranks)
            done(review_pk in ranks)

        self._store.call(queries.review_ranks, q.product_pk, q.model_version_id, [review_pk], on_result=found,
                         on_error=lambda _exc: done(False))

    def unscored_pks(self) -> list[int]:
        """Loaded reviews that have no score under the shown model."""
        return [r.id for r in self._rows if r.score is None]

    def set_scoring(self, text: Optional[str], tooltip: str = "", fraction: Optional[float] = None) -> None:
        """While a scoring job fills the shown model's scores in: what the "not scored" cells
        say instead (e.g. "scoring\u2026 41%") and how far the job is (``ProgressRole``: 0..1,
        None: not known yet); ``text`` None when no job scores them."""
        mark = None if text is None else (text, tooltip, -1.0 if fraction is None else float(fraction))
        if mark == self._scoring:
            return
        if mark is not None:
            self._forget_all_rows()  # scores are being written: read them again afterwards
        self._scoring = mark
        column = COLUMN_INDEX["score"]
        rows = [i for i, r in enumerate(self._rows) if r.score is None]
        if rows:
            self.dataChanged.emit(self.index(rows[0], column), self.index(rows[-1], column))

    @property
    def scoring_text(self) -> Optional[str]:
        return self._scoring[0] if self._scoring is not None else None

    def update_rows(self, rows: Sequence[ReviewRow]) -> None:
        """Replace loaded rows by fresh copies (after a flag changed); one dataChanged for
        the span they cover (a bulk flag may change hundreds)."""
        self._forget_all_rows()  # flags changed (maybe of rows not loaded): the next sort queries
        changed = []
        for r in rows:
            i = self._row_of.get(r.id)
            if i is not None:
                self._rows[i] = r
                changed.append(i)
        if changed:
            self.dataChanged.emit(self.index(min(changed), 0), self.index(max(changed), len(REVIEW_COLUMNS) - 1))

    def _forget_all_rows(self) -> None:
        self._all, self._all_pending = None, None
        self._all_generation += 1
        if self._memory is not None:  # further pages come from the query in the same order
            self._memory = None

    def loaded_pks(self) -> list[int]:
        """Keys of the loaded rows, in order."""
        return [r.id for r in self._rows]

    # ------------------------------------------------------------ Qt API

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(REVIEW_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(REVIEW_COLUMNS):
            return None
        col = REVIEW_COLUMNS[section]
        if role == Qt.ItemDataRole.DisplayRole:
            # "p_t r_t" on two lines: the five sub-score columns stay narrow and readable
            return col.header.replace(" ", "\n") if col.kind is ColumnKind.SUBSCORE else col.header
        if role == Qt.ItemDataRole.ToolTipRole:
            return col.tooltip + ("" if col.order_by else " (not sortable)")
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return _ITEM_FLAGS

    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        if role not in _ANSWERED or not index.isValid():
            return None
        row, column = index.row(), index.column()
        if row >= len(self._rows) or column >= len(REVIEW_COLUMNS):
            return None
        r = self._rows[row]
        col = REVIEW_COLUMNS[column]
        if role == _DISPLAY:
            return self._display(r, col)
        if role == _RECORD:
            return r
        if role == _KEY:
            return r.id
        if role == _VALUE:
            return r.sub_scores[subscore_index(col)] if col.kind is ColumnKind.SUBSCORE else None
        if role == _SUBSCORE:
            return subscore_view(r, self._subscores, subscore_index(col)) if col.kind is ColumnKind.SUBSCORE else None
        if role == _PROGRESS:
            return self._scoring[2] if self._scoring is not None and col.key == "score" and r.score is None else None
        if role == _SORT:
            return self._sort_value(r, col)
        if role == _ALIGN:
            return _RIGHT if col.kind in _NUMERIC else None
        if role == _TOOLTIP:
            return self._tooltip(r, col)
        if role == _FOREGROUND and col.key == "score" and r.score is None:
            return _GREY
        if role == _FOREGROUND and col.key == "rank":
            move = self.rank_move(r.id)
            if move is not None and move.delta:
                return RANK_UP if move.delta > 0 else RANK_DOWN
        return None

    def _display(self, r: ReviewRow, col) -> Any:
        key = col.key
        if key == "rank":
            info = self._ranks.get(r.id)
            if info is None or info.model_rank is None:
                return ""
            move = self.rank_move(r.id)
            if move is None or not move.delta:
                return str(info.model_rank)
            return f"{info.model_rank} {chr(0x25B2) if move.delta > 0 else chr(0x25BC)}{abs(move.delta)}"
        if key == "review":
            return one_line(r.title or r.text)
        if key == "score":
            if r.score is None:
                return self._scoring[0] if self._scoring is not None else NOT_SCORED
            return fmt_float(r.score)
        if key == "label":
            return "" if r.label is None else str(r.label)
        if key == "votes":
            return str(r.helpful_votes)
        if key == "rating":
            return "" if r.rating is None else f"{r.rating:g}"
        if col.kind is ColumnKind.SUBSCORE:
            return fmt_float(r.sub_scores[subscore_index(col)])
        if col.kind is ColumnKind.REASON:
            i = reason_index(col)
            return part_text(*r.reasons[i]) if i < len(r.reasons) else ""
        if key == "flag":
            resolved = self._changes is not None and r.id in self._changes.resolved
            return fmt_flag(r.flag_kind, r.corrected_label) + (" \u2713 resolved" if resolved and r.flag_kind else "")
        if key == "date":
            return fmt_date(r.time)
        if key == "images":
            return str(r.n_images) if r.n_images else ""
        if key == "review_id":
            return r.review_id
        return None

    def _sort_value(self, r: ReviewRow, col) -> Any:
        if col.kind is ColumnKind.SUBSCORE:
            return r.sub_scores[subscore_index(col)]
        if col.kind is ColumnKind.REASON:  # as the query sorts: the reason, then its amount
            i = reason_index(col)
            return r.reasons[i] if i < len(r.reasons) else None
        return {"score": r.score, "label": r.label, "votes": r.helpful_votes, "rating": r.rating, "date": r.time}.get(
            col.key, self._display(r, col)
        )

    def _tooltip(self, r: ReviewRow, col) -> Optional[str]:
        if col.key == "score" and r.score is None:
            return self._scoring[1] if self._scoring is not None else "Not scored by the active model"
        if col.key == "review":
            return plain_tooltip(((r.title + "\n\n") if r.title else "") + one_line(r.text, 600))
        if col.key == "rank":
            info = self._ranks.get(r.id)
            if info is None or info.model_rank is None:
                return "Not scored by the active model"
            tip = f"Rank {info.model_rank} of {info.n_scored} under the model, {info.vote_rank} of {info.n_reviews} under the votes"
            if info.label_gap:
                tip += f"\nThe model places it among label-{info.implied_label} reviews (vote label {r.label})"
            move = self.rank_move(r.id)
            if move is not None and self._changes is not None:
                way = f"up {move.delta}" if move.delta > 0 else (f"down {-move.delta}" if move.delta else "unchanged")
                tip += (f"\nUnder the previous model, {self._changes.previous}: rank {move.old_rank} of {move.n} "
                        f"({way})")
            return tip
        if col.kind is ColumnKind.SUBSCORE:
            return subscore_view(r, self._subscores, subscore_index(col)).tooltip
        if col.kind is ColumnKind.REASON and r.score is not None:
            i = reason_index(col)
            if not r.reasons:
                return NO_EXPLANATION
            if i < len(r.reasons):
                which = "What moved this score most" if i == 0 else "What moved it second most"
                return f"{which}: {part_text(*r.reasons[i])} (score units; \"Why this score\" shows every part)"
            return None
        if col.key == "flag" and r.flag_kind:
            resolution = self._changes.resolved.get(r.id) if self._changes is not None else None
            return plain_tooltip(fmt_flag(r.flag_kind, r.corrected_label) + (f"\n{resolution}" if resolution else ""))
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort in the query: set the table state, which reloads."""
        if not 0 <= column < len(REVIEW_COLUMNS) or REVIEW_COLUMNS[column].order_by is None:
            return
        self._table.sort = (REVIEW_COLUMNS[column].key, order == Qt.SortOrder.AscendingOrder)


def column_of(key: str) -> int:
    return COLUMN_INDEX[key]
