"""Search across the whole catalogue: a field in the toolbar and a list of hits under it.

Typing runs ``storage.repository.search_reviews`` in a worker after a pause (debounced); a
result that comes back after the text changed again is dropped (generation counter). The
list is a child of the window laid over it (not a popup window), so the keyboard stays in
the field: Up/Down move through the hits, Enter or a click chooses one, Esc closes the list.
"""
from __future__ import annotations

from html import escape
from typing import Optional

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAbstractTextDocumentLayout, QKeyEvent, QPalette, QTextDocument
from PySide6.QtWidgets import (
    QFrame, QLabel, QLineEdit, QListWidget, QListWidgetItem, QStyle, QStyledItemDelegate, QStyleOptionViewItem,
    QVBoxLayout, QWidget,
)

from storage.records import SearchHit, SearchResult

from .. import queries
from ..store import Store
from ..theme import icon

HitRole = Qt.ItemDataRole.UserRole
HtmlRole = Qt.ItemDataRole.UserRole + 1
MORE = "more"
SEARCHING = "searching\u2026"


def hit_html(hit: SearchHit) -> str:
    """Two lines: review id and product, then the snippet with the matched words in bold (all
    user text escaped: a review is never markup)."""
    product = hit.product_title or hit.product_id
    snippet = "".join(f"<b>{escape(t)}</b>" if matched else escape(t) for t, matched in hit.snippet)
    snippet = " ".join(snippet.split())  # line breaks of the review text: one line here
    return (f"<span style='font-weight:600'>{escape(hit.review_id)}</span>"
            f" &nbsp;\u00b7&nbsp; {escape(product)}<br/>"
            f"<span>{snippet or escape(hit.review_title)}</span>")


class _HitDelegate(QStyledItemDelegate):
    """Draws an item's HTML (hit_html) over the normal item background."""

    PAD = 6

    def _document(self, option: QStyleOptionViewItem, index: QModelIndex) -> QTextDocument:
        doc = QTextDocument()
        doc.setDefaultFont(option.font)
        doc.setDocumentMargin(0)
        doc.setHtml(index.data(HtmlRole) or escape(index.data(Qt.ItemDataRole.DisplayRole) or ""))
        doc.setTextWidth(max(50, option.rect.width() - 2 * self.PAD))
        return doc

    def paint(self, painter, option, index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        doc = self._document(opt, index)
        ctx = QAbstractTextDocumentLayout.PaintContext()
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        ctx.palette.setColor(QPalette.ColorRole.Text, opt.palette.color(role))
        painter.save()
        painter.translate(opt.rect.topLeft() + QPoint(self.PAD, self.PAD // 2))
        painter.setClipRect(QRect(0, 0, opt.rect.width() - self.PAD, opt.rect.height()))
        doc.documentLayout().draw(painter, ctx)
        painter.restore()

    def sizeHint(self, option, index) -> QSize:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        doc = self._document(opt, index)
        return QSize(int(doc.idealWidth()) + 2 * self.PAD, int(doc.size().height()) + self.PAD)


class QtSearchResults(QFrame):
    """The list of hits, laid over the window under the search field."""

    MAX_HEIGHT = 440

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("searchResults")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.status = QLabel("", self, objectName="muted")
        self.list = QListWidget(self)
        self.list.setObjectName("searchHits")
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keyboard stays in the field
        self.list.setItemDelegate(_HitDelegate(self.list))
        self.list.setUniformItemSizes(False)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        layout.addWidget(self.status)
        layout.addWidget(self.list, 1)
        self.hide()

    def hits(self) -> list[SearchHit]:
        return [self.list.item(i).data(HitRole) for i in range(self.list.count())
                if isinstance(self.list.item(i).data(HitRole), SearchHit)]


class QtSearchField(QLineEdit):
    """The toolbar's search field.

    Signals
    -------
    hit_chosen(object)
        The user chose a :class:`~storage.records.SearchHit` (Enter or a click).
    """

    hit_chosen = Signal(object)
    DEBOUNCE_MS = 200
    PAGE = 50

    def __init__(self, store: Store, overlay_parent: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._generation = 0
        self._shown_text = ""  # the text whose hits are listed
        self._has_more = False
        self.setObjectName("catalogueSearch")
        self.setPlaceholderText("Search all reviews\u2026")
        self.setClearButtonEnabled(True)
        self.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.setMinimumWidth(220)
        self.setMaximumWidth(360)
        self.results = QtSearchResults(overlay_parent)
        self.results.list.itemClicked.connect(self._on_item_clicked)
        overlay_parent.installEventFilter(self)
        self._debounce = QTimer(self, singleShot=True, interval=self.DEBOUNCE_MS)
        self._debounce.timeout.connect(self.run_search)
        self.textChanged.connect(self._on_text_changed)

    # ------------------------------------------------------------ searching

    def _on_text_changed(self, text: str) -> None:
        if not text.strip():
            self._debounce.stop()
            self._generation += 1  # whatever is still running is stale
            self._shown_text = ""
            self.results.list.clear()
            self.results.hide()
            return
        self._debounce.start()

    def run_search(self, offset: int = 0) -> None:
        """Search for the field's text now (the debounce timer calls this)."""
        self._debounce.stop()
        text = self.text()
        if not text.strip():
            return
        self._generation += 1
        gen = self._generation
        if offset == 0:
            self.results.status.setText(SEARCHING)
            self._show_results()
            # an import may have left reviews out of the index: the search adds them first, say so
            self._store.call(queries.search_backlog, on_result=lambda n: self._on_backlog(gen, n))
        self._store.call(queries.search, text, self.PAGE, offset,
                         on_result=lambda result: self._on_result(gen, result),
                         on_error=lambda exc: self._on_error(gen, exc))

    def _on_backlog(self, gen: int, n: int) -> None:
        if n and gen == self._generation and self.results.status.text() == SEARCHING:
            self.results.status.setText(f"catching up: adding {n:,} imported reviews to the search index\u2026")

    def _on_result(self, gen: int, result: SearchResult) -> None:
        if gen != self._generation or result.query != self.text():
            return  # the user typed on: a newer search is coming
        lst = self.results.list
        if result.offset == 0:
            lst.clear()
        elif lst.count() and lst.item(lst.count() - 1).data(HitRole) == MORE:
            lst.takeItem(lst.count() - 1)
        for hit in result.hits:
            item = QListWidgetItem(f"{hit.review_id} {hit.product_title} {hit.snippet_text}")
            item.setData(HitRole, hit)
            item.setData(HtmlRole, hit_html(hit))
            item.setToolTip(f"{hit.review_id} of {hit.product_title or hit.product_id}: Enter opens it in the table")
            lst.addItem(item)
        self._has_more = result.has_more
        if result.has_more:
            more = QListWidgetItem("More results\u2026")
            more.setData(HitRole, MORE)
            more.setData(HtmlRole, "<i>More results\u2026</i>")
            lst.addItem(more)
        n = len(self.results.hits())
        self.results.status.setText(
            "no review matches" if n == 0 else f"{n}{'+' if result.has_more else ''} reviews, best match first")
        self._shown_text = result.query
        if result.offset == 0 and lst.count():
            lst.setCurrentRow(0)
        self._show_results()

    def _on_error(self, gen: int, exc: Exception) -> None:
        if gen == self._generation:
            self.results.status.setText(f"search failed: {exc}")
            self._show_results()

    # ------------------------------------------------------------ choosing

    def choose(self, row: int) -> None:
        item = self.results.list.item(row)
        if item is None:
            return
        hit = item.data(HitRole)
        if hit == MORE:
            self.run_search(offset=len(self.results.hits()))
            return
        if isinstance(hit, SearchHit):
            self.results.hide()
            self.hit_chosen.emit(hit)

    def _on_item_clicked(self, item: QListWidgetItem) -> None:
        self.choose(self.results.list.row(item))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt)
        lst = self.results.list
        key = event.key()
        if key in (Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_PageDown, Qt.Key.Key_PageUp) and lst.count():
            if not self.results.isVisible():
                self._show_results()
                return
            step = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1, Qt.Key.Key_PageDown: 8, Qt.Key.Key_PageUp: -8}[key]
            lst.setCurrentRow(max(0, min(lst.count() - 1, lst.currentRow() + step)))
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if self._debounce.isActive() or self._shown_text != self.text():
                self.run_search()  # Enter before the pause: search now
            elif self.results.isVisible() and lst.currentRow() >= 0:
                self.choose(lst.currentRow())
            else:
                self._show_results()
            return
        if key == Qt.Key.Key_Escape and self.results.isVisible():
            self.results.hide()
            return
        super().keyPressEvent(event)

    # ------------------------------------------------------------ the overlay

    def _show_results(self) -> None:
        if not self.text().strip():
            return
        self._place_results()
        self.results.show()
        self.results.raise_()

    def _place_results(self) -> None:
        parent = self.results.parentWidget()
        width = min(max(self.width(), 560), parent.width() - 16)
        top_left = self.mapTo(parent, QPoint(0, self.height() + 2))
        x = max(8, min(top_left.x() + self.width() - width, parent.width() - width - 8))  # right-aligned to the field
        lst = self.results.list
        rows = sum(lst.sizeHintForRow(i) for i in range(min(lst.count(), 12))) if lst.count() else 0
        height = min(self.results.MAX_HEIGHT, max(60, rows + self.results.status.sizeHint().height() + 20),
                     parent.height() - top_left.y() - 8)
        self.results.setGeometry(x, top_left.y(), width, height)

    def focusInEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().focusInEvent(event)
        if self.text().strip() and self.results.list.count() and self._shown_text == self.text():
            self._show_results()

    def focusOutEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().focusOutEvent(event)
        if event.reason() != Qt.FocusReason.PopupFocusReason:
            self.results.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt)
        if event.type() == QEvent.Type.Resize and self.results.isVisible():
            self._place_results()
        return False

    @property
    def current_hit(self) -> Optional[SearchHit]:
        item = self.results.list.currentItem()
        hit = item.data(HitRole) if item is not None else None
        return hit if isinstance(hit, SearchHit) else None
