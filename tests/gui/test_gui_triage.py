"""Keyboard triage: labels 0-4, flag dialog, undo/redo, audit events in the store."""
from __future__ import annotations

from waits import WAIT  # noqa: E402

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from gui.state.columns import COLUMN_INDEX
from storage import repository as repo


def _flags(db, review_pk, include_undone=True):
    with db.begin() as s:
        return [f for f in repo.list_flags(s, include_undone=include_undone) if f.review_pk == review_pk]


def _audit(db):
    with db.begin() as s:
        return repo.list_audit_events(s, limit=50)


def test_label_key_flags_undo_and_redo_with_audit(make_window, catalogue, open_db, settings, qtbot, focus):
    settings.user_name = "ana"
    w = make_window(catalogue.url)
    view = w.review_table.view
    focus(view)
    qtbot.keyClick(view, Qt.Key.Key_J)
    row = w.review_model.review(1)
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        qtbot.keyClick(view, Qt.Key.Key_0)
    (flag,) = _flags(open_db, row.id)
    assert flag.corrected_label == 0 and flag.author == "ana" and not flag.undone
    rank = w.review_model.rank(row.id)
    # second-best score, so a label of 0 means the model ranks it too high (unless every label is 0)
    assert flag.kind == ("model too high" if rank.model_rank <= 2 else "other")
    event = _audit(open_db)[0]
    assert (event.actor, event.action, event.target_id) == ("ana", "flag.add", str(row.id))
    qtbot.waitUntil(lambda: w.review_model.index(1, COLUMN_INDEX["flag"]).data().endswith("\u2192 0"), timeout=WAIT)

    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        qtbot.keyClick(view, Qt.Key.Key_U)
    assert _flags(open_db, row.id)[0].undone
    assert _audit(open_db)[0].action == "flag.undo"
    qtbot.waitUntil(lambda: w.review_model.index(1, COLUMN_INDEX["flag"]).data() == "", timeout=WAIT)

    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        w.redo_action.trigger()
    assert not _flags(open_db, row.id)[0].undone
    assert _audit(open_db)[0].action == "flag.redo"


def test_second_label_key_updates_the_flag_and_undo_restores_it(make_window, catalogue, open_db, qtbot, focus):
    w = make_window(catalogue.url)
    w.actions_.advance.setChecked(False)  # stay on the review: the second key edits its flag
    view = w.review_table.view
    focus(view)
    pk = w.review_model.review(0).id
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        qtbot.keyClick(view, Qt.Key.Key_1)
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        qtbot.keyClick(view, Qt.Key.Key_4)
    (flag,) = _flags(open_db, pk)
    assert flag.corrected_label == 4
    assert _audit(open_db)[0].action == "flag.edit"
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        qtbot.keyClick(view, Qt.Key.Key_U)
    (flag,) = _flags(open_db, pk)
    assert flag.corrected_label == 1 and not flag.undone
    assert w.triage.undo_stack.count() == 2 and w.triage.undo_stack.index() == 1


def test_flag_and_undo_in_quick_succession_are_applied_in_order(make_window, catalogue, open_db, qtbot):
    w = make_window(catalogue.url)
    pk = w.review_model.review(3).id
    w.app_state.current_review_pk = pk
    w.triage.set_label(2)
    w.triage.undo()  # before the first write has come back
    qtbot.waitUntil(lambda: not w.store.busy, timeout=WAIT)
    (flag,) = _flags(open_db, pk)
    assert flag.undone


def test_flag_dialog_saves_at_once(make_window, catalogue, open_db, qtbot, focus):
    w = make_window(catalogue.url)
    w.actions_.advance.setChecked(False)  # stay on the review to read its history
    view = w.review_table.view
    focus(view)
    pk = w.app_state.current_review_pk
    qtbot.keyClick(view, Qt.Key.Key_F)
    qtbot.waitUntil(lambda: w._flag_dialog is not None and w._flag_dialog.isVisible(), timeout=WAIT)
    dialog = w._flag_dialog
    dialog.kind.setCurrentText("spam")
    dialog.labels.button(1).click()
    qtbot.keyClicks(dialog.note, "buy-now link")
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save).click()
    (flag,) = _flags(open_db, pk)
    assert (flag.kind, flag.corrected_label, flag.note) == ("spam", 1, "buy-now link")
    qtbot.waitUntil(lambda: w.detail.history.flag_model.rowCount() == 1, timeout=WAIT)
    w.audit_log.reload()
    qtbot.waitUntil(lambda: w.audit_log.audit_model.rowCount() > 0, timeout=WAIT)
    assert w.audit_log.proxy.index(0, 2).data() == "Flag"
    assert w.audit_log.proxy.index(0, 4).data() == "flag 'spam' (corrected label 1) note: buy-now link"


def test_disagreement_queue_is_keyboard_driven(make_window, catalogue, open_db, qtbot, focus):
    w = make_window(catalogue.url)
    qtbot.waitUntil(lambda: w.queue.table_model.rowCount() > 2, timeout=WAIT)
    view = w.queue.view
    focus(view)
    qtbot.keyClick(view, Qt.Key.Key_J)
    item = w.queue_state.current
    assert w.queue_state.index == 1
    assert w.app_state.current_review_pk == item.review_pk
    assert w.app_state.current_product_pk == item.row.product_pk
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        qtbot.keyClick(view, Qt.Key.Key_4)
    (flag,) = _flags(open_db, item.review_pk)
    assert flag.corrected_label == 4
    # decide and advance: the label key moved on to the next queued review
    assert w.queue_state.index == 2
    assert w.app_state.current_review_pk == w.queue_state.items[2].review_pk
    qtbot.waitUntil(lambda: w.queue.table_model.index(1, 6).data().endswith("\u2192 4"), timeout=WAIT)
    assert w.queue.table_model.index(1, 0).data().startswith("\u2713")  # shown done
    assert w.queue.status.text() == f"1 of {len(w.queue_state.items)} reviewed"
    qtbot.keyClick(view, Qt.Key.Key_K)
    qtbot.keyClick(view, Qt.Key.Key_K)
    assert w.app_state.current_review_pk == w.queue_state.items[0].review_pk


def test_flagging_updates_the_product_count(make_window, catalogue, qtbot):
    w = make_window(catalogue.url)
    kettle = catalogue.product_pks["P-KETTLE"]
    assert w.product_model.product(kettle).n_flagged == 0
    w.triage.set_label(3)
    qtbot.waitUntil(lambda: w.product_model.product(kettle).n_flagged == 1, timeout=WAIT)


def test_queue_jump_to_another_product_keeps_the_queued_review(make_window, catalogue, open_db, qtbot, focus):
    w = make_window(catalogue.url)
    with qtbot.waitSignal(w.review_model.loaded, timeout=WAIT):
        w.product_list.select_product(catalogue.product_pks["P-SHOE"])
    qtbot.waitUntil(lambda: w.queue.table_model.rowCount() > 2 and not w.store.busy, timeout=WAIT)
    # the worst disagreements are Kettle reviews far down its 1200 (beyond the first page)
    target = max(range(w.queue.table_model.rowCount()),
                 key=lambda i: w.queue_state.items[i].disagreement.info.model_rank or 0)
    item = w.queue_state.items[target]
    assert item.disagreement.info.model_rank > 500  # not on the first page of the table
    view = w.queue.view
    focus(view)
    with qtbot.waitSignal(w.review_model.loaded, timeout=WAIT):
        view.setCurrentIndex(w.queue.table_model.index(target, 1))
    qtbot.waitUntil(lambda: not w.store.busy, timeout=WAIT)
    assert w.app_state.current_product_pk == catalogue.product_pks["P-KETTLE"]
    assert w.app_state.current_review_pk == item.review_pk
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        qtbot.keyClick(view, Qt.Key.Key_2)
    assert [f.corrected_label for f in _flags(open_db, item.review_pk)] == [2]


def test_flag_key_on_a_flagged_review_edits_its_flag(make_window, catalogue, open_db, qtbot, focus):
    """F on a review with an active flag opens that flag (kind, label, note filled in); saving
    edits it, so the review still has one active flag; U gives back the old values."""
    w = make_window(catalogue.url)
    w.actions_.advance.setChecked(False)  # F below is about the review just labelled
    view = w.review_table.view
    focus(view)
    pk = w.app_state.current_review_pk
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        qtbot.keyClick(view, Qt.Key.Key_2)
    (before,) = _flags(open_db, pk)
    qtbot.waitUntil(lambda: w.detail.bundle is not None and any(f.id == before.id for f in w.detail.bundle.detail.flags),
                    timeout=WAIT)
    qtbot.keyClick(view, Qt.Key.Key_F)
    qtbot.waitUntil(lambda: w._flag_dialog is not None and w._flag_dialog.isVisible(), timeout=WAIT)
    dialog = w._flag_dialog
    assert dialog.kind.currentText() == before.kind and dialog.labels.checkedId() == 2
    assert dialog.windowTitle().startswith("Edit flag")
    dialog.kind.setCurrentText("spam")
    qtbot.keyClicks(dialog.note, "coupon code")
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save).click()
    (after,) = _flags(open_db, pk, include_undone=False)
    assert (after.id, after.kind, after.corrected_label, after.note) == (before.id, "spam", 2, "coupon code")
    focus(view)
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        qtbot.keyClick(view, Qt.Key.Key_U)
    (undone,) = _flags(open_db, pk)
    assert (undone.kind, undone.corrected_label, undone.note, undone.undone) == (before.kind, 2, "", False)
