"""Decide and advance, and the disagreement queue as a work list (issue 18)."""
from __future__ import annotations

from waits import WAIT  # noqa: E402

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox
from sqlalchemy import update

from gui.settings import Settings
from gui.state.disagreement_queue import QueueFilter
from storage import repository as repo
from storage.models import Product


def _active_flag(db, pk):
    with db.begin() as s:
        return [f for f in repo.list_flags(s) if f.review_pk == pk]


def test_label_key_advances_to_the_next_review_and_the_setting_turns_it_off(make_window, catalogue, open_db,
                                                                             settings, qtbot, focus):
    w = make_window(catalogue.url)
    assert w.actions_.advance.isChecked()  # on by default
    view = w.review_table.view
    focus(view)
    first, second, third = (w.review_model.review(i).id for i in range(3))
    assert w.app_state.current_review_pk == first
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        qtbot.keyClick(view, Qt.Key.Key_3)
    assert [f.corrected_label for f in _active_flag(open_db, first)] == [3]
    assert w.app_state.current_review_pk == second
    assert w.review_table.view.currentIndex().row() == 1

    w.actions_.advance.setChecked(False)
    assert Settings.at(settings.path).advance_after_decision is False  # remembered
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        qtbot.keyClick(view, Qt.Key.Key_1)
    assert w.app_state.current_review_pk == second  # stays
    assert [f.corrected_label for f in _active_flag(open_db, second)] == [1]
    assert _active_flag(open_db, third) == []


def test_saving_the_flag_dialog_advances(make_window, catalogue, open_db, qtbot, focus):
    w = make_window(catalogue.url)
    view = w.review_table.view
    focus(view)
    first, second = w.review_model.review(0).id, w.review_model.review(1).id
    qtbot.keyClick(view, Qt.Key.Key_F)
    qtbot.waitUntil(lambda: w._flag_dialog is not None and w._flag_dialog.isVisible(), timeout=WAIT)
    dialog = w._flag_dialog
    dialog.kind.setCurrentText("spam")
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save).click()
    assert [f.kind for f in _active_flag(open_db, first)] == ["spam"]
    assert w.app_state.current_review_pk == second


def test_cancelled_flag_dialog_does_not_advance(make_window, catalogue, qtbot, focus):
    w = make_window(catalogue.url)
    view = w.review_table.view
    focus(view)
    first = w.app_state.current_review_pk
    qtbot.keyClick(view, Qt.Key.Key_F)
    qtbot.waitUntil(lambda: w._flag_dialog is not None and w._flag_dialog.isVisible(), timeout=WAIT)
    w._flag_dialog.reject()
    qtbot.waitUntil(lambda: w._flag_dialog is None, timeout=WAIT)
    assert w.app_state.current_review_pk == first


def test_hidden_done_items_leave_the_queue_and_the_next_one_is_current(make_window, catalogue, open_db, qtbot, focus):
    w = make_window(catalogue.url)
    qtbot.waitUntil(lambda: w.queue.table_model.rowCount() > 3, timeout=WAIT)
    w.queue.hide_done.setChecked(True)
    assert w.queue_state.hide_done
    total = len(w.queue_state.items)
    view = w.queue.view
    focus(view)
    decided, following = w.queue_state.items[0].review_pk, w.queue_state.items[1].review_pk
    assert w.queue_state.current.review_pk == decided
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        qtbot.keyClick(view, Qt.Key.Key_2)
    assert w.app_state.current_review_pk == following
    # the decided review leaves as its row comes back; the current one stays current
    qtbot.waitUntil(lambda: decided not in [i.review_pk for i in w.queue_state.items], timeout=WAIT)
    assert w.queue_state.current.review_pk == following
    assert w.queue.view.currentIndex().row() == 0
    assert len(w.queue_state.items) == total - 1
    assert w.queue.status.text() == f"1 of {total} reviewed"
    # shown again, ticked, when done items are not hidden
    w.queue.hide_done.setChecked(False)
    assert decided in [i.review_pk for i in w.queue_state.items]
    assert w.queue_state.current.review_pk == following
    # undo brings it back as not done
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        w.undo_action.trigger()
    qtbot.waitUntil(lambda: w.queue.status.text() == f"0 of {total} reviewed", timeout=WAIT)


def test_queue_filters_by_product_direction_and_held_out(make_window, catalogue, open_db, qtbot):
    kettle, trees = catalogue.product_pks["P-KETTLE"], catalogue.product_pks["P-TREES"]
    w = make_window(catalogue.url)
    qtbot.waitUntil(lambda: w.queue.table_model.rowCount() > 3, timeout=WAIT)
    products = {i.row.product_pk for i in w.queue_state.items}
    assert products == {kettle, trees} or products == {kettle}

    w.product_list.select_product(trees)
    qtbot.waitUntil(lambda: w.app_state.current_product_pk == trees, timeout=WAIT)
    w.queue.scope.setCurrentIndex(w.queue.scope.findData("product"))
    qtbot.waitUntil(lambda: w.queue_state.filter.product_pk == trees and not w.store.busy, timeout=WAIT)
    qtbot.waitUntil(lambda: all(i.row.product_pk == trees for i in w.queue_state.items), timeout=WAIT)
    assert w.queue_state.items  # Trees has disagreements of its own (beyond the catalogue-wide top)

    w.queue.scope.setCurrentIndex(w.queue.scope.findData("category:Kitchen"))
    qtbot.waitUntil(lambda: w.queue_state.filter.category == "Kitchen", timeout=WAIT)
    qtbot.waitUntil(lambda: w.queue_state.items and all(i.row.product_pk == kettle for i in w.queue_state.items),
                    timeout=WAIT)

    w.queue.direction.setCurrentIndex(w.queue.direction.findData("model too low"))
    qtbot.waitUntil(lambda: w.queue_state.filter.direction == "model too low", timeout=WAIT)
    qtbot.waitUntil(lambda: w.queue_state.items
                    and all(i.disagreement.direction == "model too low" for i in w.queue_state.items), timeout=WAIT)

    # Kettle moves to the training split: the held-out queue drops it, the full one keeps it
    with open_db.begin() as s:
        s.execute(update(Product).where(Product.id == kettle).values(split="train"))
    w.queue.reload()
    qtbot.waitUntil(lambda: not w.queue_state.all_items and "no disagreements" in w.queue.status.text(), timeout=WAIT)
    assert "held-out" in w.queue.status.text()
    w.queue.held_out.setChecked(False)
    qtbot.waitUntil(lambda: len(w.queue_state.items) > 0, timeout=WAIT)


def test_queue_filter_and_hide_done_survive_a_restart(make_window, catalogue, qtbot):
    w = make_window(catalogue.url)
    qtbot.waitUntil(lambda: w.queue.table_model.rowCount() > 0, timeout=WAIT)
    w.queue.direction.setCurrentIndex(w.queue.direction.findData("model too high"))
    w.queue.held_out.setChecked(False)
    w.queue.hide_done.setChecked(True)
    w.queue.scope.setCurrentIndex(w.queue.scope.findData("category:Books"))
    w.close()
    w2 = make_window(catalogue.url)
    assert w2.queue_state.filter == QueueFilter(category="Books", direction="model too high", held_out_only=False)
    assert w2.queue_state.hide_done and w2.queue.hide_done.isChecked()
    qtbot.waitUntil(lambda: w2.queue.scope.currentText() == "Category: Books", timeout=WAIT)
    assert w2.queue.direction.currentData() == "model too high" and not w2.queue.held_out.isChecked()
