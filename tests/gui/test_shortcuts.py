"""Keyboard shortcuts: one table drives the keys, the menus and the sheet; rebinding refuses
conflicts, persists, and resets."""
from __future__ import annotations

from waits import WAIT  # noqa: E402

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from gui.state import shortcuts


def test_default_keys_are_unique_and_every_binding_has_text():
    keys = shortcuts.effective()
    assert shortcuts.conflicts(keys) == {}
    assert keys["redo"][0] == "Ctrl+Shift+Z" and "Ctrl+Y" in keys["redo"]
    assert {"next", "previous", "undo_key", "flag"} <= set(keys)


def test_rebind_refuses_a_key_in_use_and_names_its_owner():
    keys = shortcuts.effective()
    with pytest.raises(ValueError, match="J is already used by 'Next review'"):
        shortcuts.rebind(keys, "flag", ["J"])
    with pytest.raises(ValueError, match="ctrl\\+shift\\+z is already used by 'Redo'"):
        shortcuts.rebind(keys, "undo", ["ctrl+shift+z"])  # spelling does not hide a clash
    with pytest.raises(ValueError, match="Esc is already used by 'Back to the review table"):
        shortcuts.rebind(keys, "next", ["Esc"])
    moved = shortcuts.rebind(keys, "next", ["N"])
    assert moved["next"] == ("N",) and shortcuts.overrides_of(moved) == {"next": ["N"]}
    assert shortcuts.effective({"next": ["N"], "gone_in_this_build": ["X"]})["next"] == ("N",)


def test_sheet_lists_every_binding_with_its_current_key():
    from gui.actions import shortcut_sheet

    keys = shortcuts.rebind(shortcuts.effective(), "next", ["N"])
    html = shortcut_sheet(keys)
    for b in shortcuts.BINDINGS:
        assert b.text in html
    assert "<code>N</code></td><td>Next review" in html
    assert "<code>Ctrl+Shift+Z / Ctrl+Y</code></td><td>Redo" in html


def _menu_actions(menu_bar):
    found = []

    def walk(actions):
        for a in actions:
            found.append(a)
            if a.menu() is not None:
                walk(a.menu().actions())

    walk(menu_bar.actions())
    return found


def test_every_shortcut_is_in_a_menu_with_its_key(make_window, catalogue):
    w = make_window(catalogue.url)
    in_menus = _menu_actions(w.menuBar())
    for b in shortcuts.BINDINGS:
        action = w.actions_.keyed[b.id]
        assert action in in_menus, f"{b.id} is in no menu"
        assert [s.toString(QKeySequence.SequenceFormat.PortableText) for s in action.shortcuts()] == list(b.keys)


def test_ctrl_shift_z_redoes(make_window, catalogue, open_db, qtbot, focus):
    from storage import repository as repo

    w = make_window(catalogue.url)
    view = w.review_table.view
    focus(view)
    pk = w.app_state.current_review_pk
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        qtbot.keyClick(view, Qt.Key.Key_3)
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        qtbot.keyClick(view, Qt.Key.Key_U)
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    with open_db.begin() as s:
        (flag,) = [f for f in repo.list_flags(s, include_undone=True) if f.review_pk == pk]
    assert flag.corrected_label == 3 and not flag.undone


def test_rebound_key_works_persists_and_the_old_one_is_free(make_window, catalogue, settings, qtbot, focus):
    w = make_window(catalogue.url)
    view = w.review_table.view
    w.set_keys(shortcuts.rebind(w.keys, "next", ["N"]))
    focus(view)
    qtbot.keyClick(view, Qt.Key.Key_N)
    assert view.currentIndex().row() == 1
    qtbot.keyClick(view, Qt.Key.Key_J)  # no longer bound
    assert view.currentIndex().row() == 1
    assert settings.shortcut_overrides() == {"next": ["N"]}
    again = make_window(catalogue.url)
    assert again.keys["next"] == ("N",)
    assert again.actions_.next.shortcut().toString() == "N"


def test_shortcuts_dialog_refuses_conflicts_and_resets(make_window, catalogue, qtbot):
    from gui.widgets.qt_shortcuts_dialog import QtShortcutsDialog

    w = make_window(catalogue.url)
    dialog = QtShortcutsDialog(w.keys, w)
    qtbot.addWidget(dialog)
    assert not dialog.set_key("flag", "K")
    assert "K is already used by 'Previous review'" in dialog.message.text()
    assert dialog.keys["flag"] == ("F",) and dialog.editors["flag"].keySequence().toString() == "F"
    assert dialog.set_key("flag", "Ctrl+G") and dialog.message.text() == ""
    assert dialog.set_key("previous", "")  # no key at all is allowed
    dialog.reset_defaults()
    assert dialog.keys == shortcuts.effective()
    assert dialog.editors["redo"].keySequence().toString() == "Ctrl+Shift+Z"
