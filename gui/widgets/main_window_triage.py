"""The main window's triage: the flag dialog, flag kinds, bulk flags, decide and advance.

A mixin of :class:`gui.widgets.qt_main_window.QtMainWindow` (its widgets and controllers are
built there); split out by concept so that the window's module stays readable.
"""
from __future__ import annotations

import logging
from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from storage.records import SUBSCORE_WRONG

from .. import bulk, queries
from ..dialogs import show_error
from ..models.formatting import one_line
from ..state.flag_draft import FlagDraft
from .qt_bulk_flag_dialog import QtBulkFlagDialog
from .qt_flag_dialog import QtFlagDialog
from .qt_flag_kinds_dialog import QtFlagKindsDialog


_log = logging.getLogger(__name__)


class TriageMixin:
    """Triage methods of QtMainWindow (uses its ``triage``, ``store``, ``app_state``, views)."""

    # ---------------------------------------------------------------- triage

    def open_flag_dialog(self) -> None:
        """F: the flag dialog on the current review, filled in with its active flag if it has one.

        The flag is read from the store, queued behind the writes not yet done (a label key
        pressed just before F): the detail pane may still show the flag as it was, and a dialog
        opened on that would save over a newer version ("changed by someone else")."""
        pk = self.app_state.current_review_pk
        if pk is None or self._flag_dialog is not None or self._flag_dialog_pending:
            return
        self._flag_dialog_pending = True
        source = self._triage_view()

        def opened(data) -> None:
            self._flag_dialog_pending = False
            if data is not None and self.isVisible():
                self._show_flag_dialog(pk, data, source)

        def failed(_error) -> None:
            self._flag_dialog_pending = False

        job = self.store.call(queries.flag_dialog_data, pk, self.app_state.model_version_id, write=True,
                              on_result=opened, on_error=failed)
        if job is None:
            self._flag_dialog_pending = False

    def _show_flag_dialog(self, pk: int, data, source: str) -> None:
        # A review has one active flag: F opens it for editing (the save then edits it).
        active = data.active
        initial = FlagDraft(active.kind, active.corrected_label, active.note, active.interactions) \
            if active is not None else None
        seen = (active.id, active.version) if active is not None else None
        dialog = QtFlagDialog(one_line(data.title, 80) or f"review #{pk}", initial=initial, kinds=(), parent=self,
                              sub_scores=data.sub_scores)
        dialog.set_kinds(*self._offered_kinds(dialog.kept_kind), current=dialog.kept_kind)
        if active is not None:
            dialog.setWindowTitle(f"Edit flag by {active.author or 'unknown'}")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # one per flag: do not pile up
        self._flag_dialog = dialog
        dialog.manage_requested.connect(lambda: self.open_flag_kinds_dialog(dialog))
        dialog.accepted.connect(lambda: self.triage.save_flag(dialog.draft(), pk, seen) and self._advance(source, pk))
        dialog.finished.connect(lambda _r: setattr(self, "_flag_dialog", None))
        dialog.open()

    def open_dispute_chooser(self) -> None:
        """D: the menu of the five sub-scores of the current review (too high / too low / clear),
        over the detail pane's chart, or over the table's current row when the pane is closed."""
        pk = self.app_state.current_review_pk
        if pk is None:
            return
        chart = self.detail.chart
        bundle = self.detail.bundle
        if bundle is None or bundle.detail.row.id != pk:
            return  # the pane has not caught up with the current review yet
        at = None
        if not chart.isVisible() or chart.visibleRegion().isEmpty():
            view = self.review_table.view
            rect = view.visualRect(view.currentIndex())
            at = view.viewport().mapToGlobal(rect.center() if rect.isValid() else view.viewport().rect().center())
        menu = chart.open_chooser(at)
        if menu is None:
            self.status.showMessage("This review is not scored: there is no sub-score to dispute", 6000)

    def _offered_kinds(self, keep: Optional[str], bulk: bool = False) -> tuple[tuple[str, ...], set[str]]:
        """What the flag dialog offers (the store's active kinds, plus ``keep``: the kind of the
        flag being edited) and which of them are retired; the bulk dialog never offers "sub-score
        wrong" (each review's flag names its own disputed sub-scores)."""
        state = self.flag_kinds.state
        kinds = tuple(k for k in state.offered(keep) if not (bulk and k == SUBSCORE_WRONG))
        return kinds, {k for k in kinds if state.is_retired(k)}

    def open_flag_kinds_dialog(self, parent: Optional[QWidget] = None) -> None:
        """Edit > Manage flag kinds, or the flag dialog's "Manage kinds..." (then over it)."""
        if self._kinds_dialog is not None:
            self._kinds_dialog.raise_()
            self._kinds_dialog.activateWindow()
            return
        dialog = QtFlagKindsDialog(self.flag_kinds, parent or self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._kinds_dialog = dialog
        dialog.finished.connect(lambda _r: setattr(self, "_kinds_dialog", None))
        dialog.open()

    def _on_flag_kinds(self, _kinds) -> None:
        dialog = self._flag_dialog
        if dialog is not None:
            dialog.set_kinds(*self._offered_kinds(dialog.kept_kind))
        if self._bulk_dialog is not None:
            self._bulk_dialog.set_kinds(*self._offered_kinds(None, bulk=True))

    def _on_flag_kind_renamed(self, old: str, new: str) -> None:
        """The store renamed a kind in every flag: show the new name wherever the old one is."""
        if self._flag_dialog is not None:
            self._flag_dialog.rename_kind(old, new)
        if self._bulk_dialog is not None:
            self._bulk_dialog.rename_kind(old, new)
        rows = (self.review_model.review(i) for i in range(self.review_model.rowCount()))
        pks = [r.id for r in rows if r is not None and r.flag_kind == old]
        if pks:
            self.store.call(queries.review_rows, pks, self.app_state.model_version_id,
                            on_result=self.review_model.update_rows)
        self.detail.reload()
        self.queue.reload()

    # ---------------------------------------------------------------- bulk flags

    def _update_bulk_actions(self) -> None:
        a = self.actions_
        a.bulk_selected.setEnabled(self.review_table.view.selectionModel().hasSelection())
        a.bulk_filter.setEnabled(self.app_state.current_product_pk is not None)

    def bulk_target(self, selection: bool) -> Optional[bulk.BulkTarget]:
        """The table's selected reviews, or every review of its query (product, filter, search;
        all pages); None when there are none to choose."""
        if selection:
            pks = self.review_table.selected_review_pks()
            return bulk.BulkTarget(review_pks=pks) if pks else None
        query = self.review_model.query
        if query is None or query.product_pk is None:
            return None
        return bulk.BulkTarget(query=query)

    def open_bulk_dialog(self, selection: bool) -> Optional[QtBulkFlagDialog]:
        """Edit > Bulk flag: the dialog, with the count of what it will flag (read in a worker)."""
        if self._bulk_dialog is not None:
            self._bulk_dialog.raise_()
            self._bulk_dialog.activateWindow()
            return self._bulk_dialog
        target = self.bulk_target(selection)
        if target is None:
            self.status.showMessage("Select reviews in the table first (Ctrl/Shift+click, Ctrl+A)" if selection
                                    else "Choose a product first", 8000)
            return None
        product = self.product_model.product(self.app_state.current_product_pk) \
            if self.app_state.current_product_pk is not None else None
        scope = target.describe((product.title or product.product_id) if product is not None else "")
        dialog = QtBulkFlagDialog(scope, *self._offered_kinds(None, bulk=True), parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._bulk_dialog = dialog
        dialog.accepted.connect(lambda: self.triage.apply_bulk(
            target, dialog.draft(), scope, dialog.preview.count if dialog.preview is not None else None))
        dialog.finished.connect(lambda _r: setattr(self, "_bulk_dialog", None))
        self.store.call(bulk.preview, target,
                        on_result=lambda p: self._bulk_dialog is dialog and dialog.set_preview(p),
                        on_error=lambda exc: self._bulk_dialog is dialog and dialog.set_preview_failed(str(exc)))
        dialog.open()
        return dialog

    def _on_bulk_changed(self, result: bulk.BulkResult) -> None:
        """A batch (or its undo or redo) was written: refresh the loaded rows and queued items
        it touched in one query, their products' counts, the detail and the audit log. The
        current review stays where it is."""
        changed = result.review_pks
        shown = list(dict.fromkeys([*self.review_model.loaded_pks(), *self.queue_state.queued_pks()]))
        pks = shown if changed is None else [pk for pk in shown if pk in changed]
        if pks:
            self.store.call(queries.review_rows, pks, self.app_state.model_version_id, on_result=self._on_bulk_rows)
        current = self.app_state.current_review_pk
        if current is not None and (changed is None or current in changed):
            self.detail.reload(current)
        if self.app_state.current_product_pk is not None and (changed is None or changed):
            self._reload_product_counts({self.app_state.current_product_pk})  # rows beyond the loaded pages too
        self.audit_log.reload()
        self.models_view.flags_changed()

    def _on_bulk_rows(self, rows) -> None:
        self.review_model.update_rows(rows)
        self.queue_state.replace_rows(rows)
        self._reload_product_counts({row.product_pk for row in rows} - {self.app_state.current_product_pk})

    def _reload_product_counts(self, product_pks) -> None:
        for product_pk in product_pks:
            product = self.product_model.product(product_pk)
            if product is not None:
                self.store.call(queries.load_product, product.id, product.product_id, self.app_state.model_version_id,
                                on_result=lambda p: p and self.product_model.update_product(p))

    def open_detail(self, review_pk: int) -> None:
        self.app_state.current_review_pk = review_pk
        sizes = self.splitter.sizes()
        if sizes[2] < 120:
            self.splitter.setSizes([sizes[0], max(200, sizes[1] - 400), 400])
        self.detail.focus_text()

    def _on_queue_item_selected(self, item) -> None:
        if item is None:
            return
        self.app_state.current_product_pk = item.row.product_pk
        self.app_state.current_review_pk = item.review_pk

    def _on_flag_changed(self, review_pk: int) -> None:
        mv = self.app_state.model_version_id
        self.store.call(queries.review_rows, [review_pk], mv, on_result=self._on_rows_refreshed)
        if self.app_state.current_review_pk == review_pk:
            self.detail.reload(review_pk)
        self.audit_log.reload()
        self.models_view.flags_changed()

    def _on_rows_refreshed(self, rows) -> None:
        self.review_model.update_rows(rows)
        for row in rows:
            self.queue_state.replace_row(row)
            product = self.product_model.product(row.product_pk)
            if product is not None:
                self.store.call(queries.load_product, product.id, product.product_id, self.app_state.model_version_id,
                                on_result=lambda p: p and self.product_model.update_product(p))

    def show_failure(self, title: str, message: str) -> None:
        """An error dialog over the window; once the window is closed (the app is quitting, a
        job it started came back late) the error goes to the log instead of a dialog nobody owns."""
        if not self.isVisible():
            _log.warning("%s: %s (window closed: not shown)", title, message)
            return
        show_error(self, title, message)

    def _triage_view(self) -> str:
        """Where triage keys act: "queue" when the queue has the focus, else "table"."""
        return "queue" if self.queue.view.hasFocus() else "table"

    def _step_review(self, delta: int, view: Optional[str] = None) -> None:
        """J / K (or Go menu): next or previous in the queue when it has the focus, else in the table."""
        if (view or self._triage_view()) == "queue":
            self.queue_state.step(delta)
        else:
            self.review_table.step(delta)

    def decide_label(self, label: int) -> bool:
        """Keys 0-4: set the current review's corrected label, then (Go > Advance after a
        decision) move to the next review where the key was pressed."""
        view = self._triage_view()
        current = self.queue_state.current if view == "queue" else None
        if current is not None and current.review_pk != self.app_state.current_review_pk:
            self._on_queue_item_selected(current)  # the highlighted queue item is the one decided
        pk = self.app_state.current_review_pk
        return self.triage.set_label(label, pk) and self._advance(view, pk)

    def _advance(self, view: str, decided_pk: Optional[int]) -> bool:
        """Decide and advance: the next review of ``view``, if the setting is on and the user
        has not moved away from the decided review meanwhile (a dialog left open)."""
        if self.actions_.advance.isChecked() and self.app_state.current_review_pk == decided_pk:
            self._step_review(1, view)
        return True

