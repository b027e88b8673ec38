"""The main window's remembered view, full-text search and saved views.

A mixin of :class:`gui.widgets.qt_main_window.QtMainWindow` (its widgets and states are built
there); split out by concept so that the window's module stays readable.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt

from .. import queries
from ..state.product_list import ALL_CATEGORIES
from ..state.remembered import RememberedView, settings_key
from ..state.saved_views import SavedView
from .qt_saved_views import QtSaveViewDialog



class ViewsMixin:
    """What the window remembers and restores, search hits and saved views of QtMainWindow."""

    # ---------------------------------------------------------------- remembered view

    def remember_view(self) -> None:
        """Store the open database's sort, filters, queue ordering and selection (restored when
        it is opened again, e.g. at the next start)."""
        db = self.store.db
        if db is None:
            return
        product = self.product_model.product(self.app_state.current_product_pk) \
            if self.app_state.current_product_pk is not None else None
        review_pk = self.app_state.current_review_pk
        index = self.review_model.row_of(review_pk) if review_pk is not None else None
        row = self.review_model.review(index) if index is not None else None
        view = RememberedView(self.table_state.sort, self.table_state.filter, self.product_state.search,
                              self.product_state.category, self.queue_state.mode,
                              product.product_id if product else None, row.review_id if row else None,
                              self.queue_state.filter, self.queue_state.hide_done)
        self.settings.set_view_state(settings_key(db.url), view.to_json())

    def _restore_view(self, view: RememberedView) -> None:
        if view.sort is not None:
            self.table_state.sort = view.sort
        if view.review_filter is not None:
            self.table_state.filter = view.review_filter
        if view.product_search is not None:
            self.product_state.search = view.product_search
        if view.category is not None:
            self.product_state.category = view.category
        if view.queue_mode is not None:
            self.queue_state.mode = view.queue_mode
        if view.queue_hide_done is not None:
            self.queue_state.hide_done = view.queue_hide_done
        if view.queue_filter is not None:
            f = view.queue_filter
            if f.product_pk is not None:  # "this product": whichever is selected once products are in
                f = f.with_(product_pk=self.app_state.current_product_pk or 0)
            self.queue_state.filter = f
        self._restore = view if (view.product_id or view.review_id) else None

    def _restore_review(self) -> None:
        """Once the remembered product's first page is in: select the remembered review."""
        view, self._restore = self._restore, None
        if view is None or not view.review_id:
            return
        for r in range(self.review_model.rowCount()):
            row = self.review_model.review(r)
            if row is not None and row.review_id == view.review_id:
                self.app_state.current_review_pk = row.id
                return

    # ---------------------------------------------------------------- search and saved views

    def focus_search(self) -> None:
        """Ctrl+F: into the search field, its text selected (typing replaces it)."""
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def open_search_hit(self, hit) -> None:
        """Select the hit's product and review where they are, in the product list and the table."""
        # Focus first: a table view taking the focus without a current row makes its first row current.
        self.review_table.view.setFocus(Qt.FocusReason.OtherFocusReason)
        self._show_product(hit.product_pk)
        self.app_state.current_review_pk = hit.review_pk
        self.review_table.reveal(hit.review_pk)

    def _show_product(self, product_pk: int) -> None:
        if self.product_model.row_of(product_pk) is not None and not self.product_list.is_listed(product_pk):
            self.product_state.search = ""  # the list's filter hid it: list every product again
            self.product_state.category = ALL_CATEGORIES
        self.app_state.current_product_pk = product_pk

    def _on_reveal_failed(self, review_pk: int) -> None:
        if self.app_state.current_review_pk == review_pk:
            self.status.showMessage("The review is shown in the detail pane; the table's filters hide it from the "
                                    "table (clear them to see it there)", 15_000)

    def save_view_as(self) -> None:
        product = self.product_model.product(self.app_state.current_product_pk) \
            if self.app_state.current_product_pk is not None else None
        title = (product.title or product.product_id) if product else ""
        dialog = QtSaveViewDialog(self.saved_views_state, title, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.save_view(
            dialog.name.text(), product.product_id if product and dialog.with_product.isChecked() else None))
        self._save_view_dialog = dialog
        dialog.open()

    def save_view(self, name: str, product_id: Optional[str] = None) -> SavedView:
        """Save the review table's filter, sort and visible columns (and ``product_id``) as ``name``."""
        product = self.product_model.find(product_id) if product_id else None
        view = SavedView(name, self.table_state.sort, self.table_state.filter, self.review_table.visible_columns(),
                         product_id, (product.title or product.product_id) if product else "")
        return self.saved_views_state.save(view)

    def apply_saved_view(self, view: SavedView) -> None:
        """The view's columns, sort and filter; its product, or every product listed."""
        self.review_table.set_visible_columns(view.columns)
        self.table_state.sort = view.sort
        self.table_state.filter = view.review_filter
        if view.product_id is None:
            self.product_state.search = ""
            self.product_state.category = ALL_CATEGORIES
            return
        product = self.product_model.find(view.product_id)
        if product is None:
            self.status.showMessage(f"View \u201c{view.name}\u201d: product {view.product_id} is no longer in "
                                    "this database", 15_000)
            return
        self._show_product(product.id)

    def _store_saved_views(self, _views=None) -> None:
        if self._views_key is not None:
            self.settings.set_saved_views(self._views_key, self.saved_views_state.to_json())

    def _on_products(self, snapshot: queries.ProductsSnapshot) -> None:
        current = self.app_state.current_product_pk
        if self._restore is not None and self._restore.product_id and current is None:
            current = next((p.id for p in snapshot.products if p.product_id == self._restore.product_id), None)
        self.product_model.set_products(snapshot.products)
        self.product_list.set_categories(snapshot.categories)
        self.queue.set_categories(snapshot.categories)
        if current is not None and self.product_model.row_of(current) is not None:
            self.product_list.select_product(current)
        else:
            self.product_list.select_first()
        if self.app_state.current_product_pk is None or not self.review_model.is_loading:
            self._on_first_page()  # no reviews to wait for

    def _on_active_model_changed(self, _model) -> None:
        self.detail.reload()

    def _on_product_changed(self, pk: Optional[int]) -> None:
        product = self.product_model.product(pk) if pk is not None else None
        self.review_table.set_product_title((product.title or product.product_id) if product else "")

