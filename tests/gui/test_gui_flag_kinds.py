"""Managing flag kinds from the app: add, retire, restore, rename; what the flag dialog offers."""
from __future__ import annotations

from waits import WAIT  # noqa: E402

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QLineEdit

from gui.state.columns import COLUMN_INDEX
from storage import repository as repo
from storage.records import FLAG_KINDS


def _flags(db, review_pk, include_undone=False):
    with db.begin() as s:
        return [f for f in repo.list_flags(s, include_undone=include_undone) if f.review_pk == review_pk]


def _kinds_dialog(w, qtbot, via_menu=True):
    if via_menu:
        w.actions_.flag_kinds.trigger()
    qtbot.waitUntil(lambda: w._kinds_dialog is not None and w._kinds_dialog.isVisible(), timeout=WAIT)
    dialog = w._kinds_dialog
    qtbot.waitUntil(lambda: dialog.model.rowCount() >= len(FLAG_KINDS), timeout=WAIT)
    return dialog


def _flag_dialog(w, qtbot, focus):
    focus(w.review_table.view)
    qtbot.keyClick(w.review_table.view, Qt.Key.Key_F)
    qtbot.waitUntil(lambda: w._flag_dialog is not None and w._flag_dialog.isVisible(), timeout=WAIT)
    return w._flag_dialog


def _offered(flag_dialog):
    return [flag_dialog.kind.itemText(i) for i in range(flag_dialog.kind.count())]


def _save(w, qtbot, flag_dialog):
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        flag_dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save).click()


def _flag_cell(w, review_pk):
    return w.review_model.index(w.review_model.row_of(review_pk), COLUMN_INDEX["flag"]).data()


def test_a_kind_added_in_the_dialog_is_offered_by_the_flag_dialog(make_window, catalogue, open_db, qtbot, focus):
    w = make_window(catalogue.url)
    menu_texts = [a.text() for a in w.menuBar().actions()[1].menu().actions()]  # Edit
    assert "Manage flag &kinds\u2026" in menu_texts
    dialog = _kinds_dialog(w, qtbot)
    qtbot.keyClicks(dialog.new_name, "  wrong product ")
    with qtbot.waitSignal(w.flag_kinds.changed, timeout=WAIT):
        qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert dialog.model.kind(dialog.model.rowCount() - 1).name == "wrong product"
    assert dialog.current().name == "wrong product" and dialog.new_name.text() == ""  # ready for the next one
    with open_db.begin() as s:
        assert [k.name for k in repo.list_flag_kinds(s)][-1] == "wrong product"
    dialog.close()

    pk = w.app_state.current_review_pk
    flag_dialog = _flag_dialog(w, qtbot, focus)
    assert _offered(flag_dialog) == [*FLAG_KINDS, "wrong product"]
    flag_dialog.kind.setCurrentText("wrong product")
    _save(w, qtbot, flag_dialog)
    assert [f.kind for f in _flags(open_db, pk)] == ["wrong product"]
    qtbot.waitUntil(lambda: _flag_cell(w, pk) == "\u2691 wrong product", timeout=WAIT)


def test_the_flag_dialog_opens_the_kinds_dialog_and_offers_what_is_added_there(make_window, catalogue, open_db, qtbot,
                                                                               focus):
    w = make_window(catalogue.url)
    pk = w.app_state.current_review_pk
    flag_dialog = _flag_dialog(w, qtbot, focus)
    qtbot.mouseClick(flag_dialog.manage, Qt.MouseButton.LeftButton)
    dialog = _kinds_dialog(w, qtbot, via_menu=False)
    assert dialog.parent() is flag_dialog  # over it: a modal flag dialog leaves it usable
    qtbot.keyClicks(dialog.new_name, "counterfeit")
    with qtbot.waitSignal(w.flag_kinds.changed, timeout=WAIT):
        qtbot.keyClick(dialog.new_name, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "counterfeit" in _offered(flag_dialog), timeout=WAIT)
    dialog.close()
    flag_dialog.kind.setCurrentText("counterfeit")
    _save(w, qtbot, flag_dialog)
    assert [f.kind for f in _flags(open_db, pk)] == ["counterfeit"]


def test_a_refused_change_is_explained_in_the_dialog(make_window, catalogue, open_db, qtbot):
    w = make_window(catalogue.url)
    dialog = _kinds_dialog(w, qtbot)
    qtbot.keyClicks(dialog.new_name, "SPAM")
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.message.isVisible(), timeout=WAIT)
    assert "already a flag kind 'spam'" in dialog.message.text()
    assert dialog.new_name.text() == "SPAM"  # kept, to be corrected
    built_in = dialog.model.row_of("model too high")
    dialog.select("model too high")
    assert not dialog.rename_button.isEnabled() and not dialog.retire_button.isEnabled()
    assert dialog.hint.isVisible() and "corrected-label keys" in dialog.hint.text()
    assert not dialog.model.flags(dialog.model.index(built_in)) & Qt.ItemFlag.ItemIsEditable
    dialog.rename("spam", "off-topic")
    qtbot.waitUntil(lambda: "already a flag kind 'off-topic'" in dialog.message.text(), timeout=WAIT)
    dialog.new_name.clear()
    qtbot.keyClicks(dialog.new_name, "fine")
    with qtbot.waitSignal(w.flag_kinds.changed, timeout=WAIT):
        qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert not dialog.message.isVisible()  # the next change that went through clears it


def test_retiring_hides_a_kind_from_new_flags_and_the_flag_that_has_it_keeps_it(make_window, catalogue, open_db, qtbot,
                                                                                focus):
    w = make_window(catalogue.url)
    w.actions_.advance.setChecked(False)  # stay on the flagged review: J and K below move explicitly
    flagged = w.app_state.current_review_pk
    flag_dialog = _flag_dialog(w, qtbot, focus)
    flag_dialog.kind.setCurrentText("promotional")
    _save(w, qtbot, flag_dialog)
    qtbot.waitUntil(lambda: _flag_cell(w, flagged) == "\u2691 promotional", timeout=WAIT)

    dialog = _kinds_dialog(w, qtbot)
    assert dialog.select("promotional") and dialog.retire_button.text() == "Re&tire"
    with qtbot.waitSignal(w.flag_kinds.changed, timeout=WAIT):
        qtbot.mouseClick(dialog.retire_button, Qt.MouseButton.LeftButton)
    row = dialog.model.index(dialog.model.row_of("promotional"))
    assert row.data() == "promotional (retired)"
    assert row.data(Qt.ItemDataRole.ForegroundRole) is not None  # greyed
    assert dialog.current().name == "promotional" and dialog.retire_button.text() == "Re&store"
    dialog.close()
    qtbot.waitUntil(lambda: w._kinds_dialog is None, timeout=WAIT)

    # a new flag: not offered
    focus(w.review_table.view)
    qtbot.keyClick(w.review_table.view, Qt.Key.Key_J)
    other = w.app_state.current_review_pk
    assert other != flagged
    flag_dialog = _flag_dialog(w, qtbot, focus)
    assert "promotional" not in _offered(flag_dialog) and "promotional (retired)" not in _offered(flag_dialog)
    flag_dialog.reject()
    qtbot.waitUntil(lambda: w._flag_dialog is None, timeout=WAIT)

    # the flagged review still shows it, and its flag dialog shows it, chosen, marked retired
    assert _flag_cell(w, flagged) == "\u2691 promotional"
    focus(w.review_table.view)
    qtbot.keyClick(w.review_table.view, Qt.Key.Key_K)
    assert w.app_state.current_review_pk == flagged
    qtbot.waitUntil(lambda: w.detail.bundle is not None and w.detail.bundle.detail.row.id == flagged
                    and bool(w.detail.bundle.detail.flags), timeout=WAIT)
    flag_dialog = _flag_dialog(w, qtbot, focus)
    assert flag_dialog.kind.currentText() == "promotional (retired)"
    assert _offered(flag_dialog) == [k if k != "promotional" else "promotional (retired)" for k in FLAG_KINDS]
    qtbot.keyClicks(flag_dialog.note, "kept")
    _save(w, qtbot, flag_dialog)
    (flag,) = _flags(open_db, flagged)
    assert (flag.kind, flag.note) == ("promotional", "kept")

    # restored: offered again
    dialog = _kinds_dialog(w, qtbot)
    dialog.select("promotional")
    with qtbot.waitSignal(w.flag_kinds.changed, timeout=WAIT):
        qtbot.mouseClick(dialog.retire_button, Qt.MouseButton.LeftButton)
    assert dialog.model.index(dialog.model.row_of("promotional")).data() == "promotional"
    assert "promotional" in w.flag_kinds.state.offered()


def test_a_renamed_kind_shows_in_the_table_the_history_and_undo(make_window, catalogue, open_db, qtbot, focus,
                                                                message_boxes):
    """Renaming "spam" renames it in every flag: the table and the detail pane show the new
    name at once, and undoing an edit made before the rename puts back the new name."""
    w = make_window(catalogue.url)
    w.actions_.advance.setChecked(False)  # both dialogs act on the same review
    pk = w.app_state.current_review_pk
    flag_dialog = _flag_dialog(w, qtbot, focus)
    flag_dialog.kind.setCurrentText("spam")
    _save(w, qtbot, flag_dialog)
    qtbot.waitUntil(lambda: w.detail.bundle is not None and bool(w.detail.bundle.detail.flags), timeout=WAIT)
    flag_dialog = _flag_dialog(w, qtbot, focus)
    flag_dialog.kind.setCurrentText("off-topic")
    _save(w, qtbot, flag_dialog)  # an edit: undo puts "spam" back
    qtbot.waitUntil(lambda: _flag_cell(w, pk) == "\u2691 off-topic", timeout=WAIT)

    dialog = _kinds_dialog(w, qtbot)
    dialog.select("spam")
    qtbot.mouseClick(dialog.rename_button, Qt.MouseButton.LeftButton)  # edits the row in place
    qtbot.waitUntil(lambda: dialog.view.state() == dialog.view.State.EditingState, timeout=WAIT)
    editor = dialog.view.viewport().findChild(QLineEdit)
    assert editor.text() == "spam"  # the name, not "(retired)" or such
    editor.selectAll()
    qtbot.keyClicks(editor, "advertising")
    with qtbot.waitSignal(w.flag_kinds.renamed, timeout=WAIT) as renamed:
        qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert renamed.args == ["spam", "advertising"]
    qtbot.waitUntil(lambda: dialog.model.row_of("advertising") is not None, timeout=WAIT)
    assert dialog.current().name == "advertising"
    dialog.close()

    focus(w.review_table.view)
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        qtbot.keyClick(w.review_table.view, Qt.Key.Key_U)
    assert message_boxes == []  # not "unknown flag kind 'spam'"
    (flag,) = _flags(open_db, pk)
    assert flag.kind == "advertising"
    qtbot.waitUntil(lambda: _flag_cell(w, pk) == "\u2691 advertising", timeout=WAIT)
    qtbot.waitUntil(lambda: w.detail.bundle is not None
                    and [f.kind for f in w.detail.bundle.detail.flags] == ["advertising"], timeout=WAIT)
    history = w.detail.history.flag_model
    assert history.index(0, 2).data() == "advertising"


def test_a_rename_updates_the_table_without_a_flag_change(make_window, catalogue, open_db, qtbot, focus):
    """Rows flagged with a kind show its new name as soon as the store renamed it."""
    w = make_window(catalogue.url)
    rows = [w.review_model.review(i).id for i in range(3)]
    with open_db.begin() as s:
        for rpk in rows:
            repo.add_flag(s, rpk, "profanity", "colleague")
    w.review_model.reload()
    qtbot.waitUntil(lambda: all(w.review_model.row_of(r) is not None and _flag_cell(w, r) == "\u2691 profanity"
                                for r in rows), timeout=WAIT)
    w.flag_kinds.rename("profanity", "rude language")
    qtbot.waitUntil(lambda: all(_flag_cell(w, r) == "\u2691 rude language" for r in rows), timeout=WAIT)
    assert "rude language" in w.flag_kinds.state.offered() and "profanity" not in w.flag_kinds.state.offered()
