"""Disputing a sub-score through the real window: the chart's context menu, the D chooser, the
flag dialog's rows; each a flag row in the store, undone and redone, in the audit log, the
export and the training catalogue; the Models view counts them per interaction."""
from __future__ import annotations

import csv

from waits import WAIT  # noqa: E402

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from gui.models.audit_text import audit_line
from storage import repository as repo
from storage.exporters import export_flags


def _active(db, pk):
    with db.begin() as s:
        return repo.active_flag(s, pk)


def _detail_on(qtbot, w, pk):
    qtbot.waitUntil(lambda: w.detail.bundle is not None and w.detail.bundle.detail.row.id == pk, timeout=WAIT)


def _bar_position(chart, name: str) -> QPoint:
    """Widget position of the middle of a sub-score's row."""
    i = [v.name for v in chart.views].index(name)
    rect = chart.rect()
    y = int(chart.row_top(i) + chart.row_height() / 2)
    return QPoint(rect.center().x(), y)


def _right_click(chart, name: str):
    pos = _bar_position(chart, name)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, chart.mapToGlobal(pos))
    QApplication.sendEvent(chart, event)
    assert chart.menu is not None, "no dispute menu opened"
    return chart.menu


def _trigger(qtbot, w, menu, text: str) -> None:
    action = next(a for a in _all_actions(menu) if a.text().replace("&", "") == text)
    assert action.isEnabled(), f"{text!r} is disabled"
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        action.trigger()


def _all_actions(menu):
    for a in menu.actions():
        if a.menu() is not None:
            yield from _all_actions(a.menu())
        else:
            yield a


def test_right_click_on_a_bar_disputes_it_and_undo_redo_round_trip(make_window, catalogue, open_db, qtbot,
                                                                   message_boxes, tmp_path):
    w = make_window(catalogue.url)
    w.actions_.advance.setChecked(False)
    pk = w.app_state.current_review_pk
    _detail_on(qtbot, w, pk)
    chart = w.detail.chart
    assert chart.interaction_at(_bar_position(chart, "p_t r_t")) == "p_t r_t"
    assert chart.interaction_at(_bar_position(chart, "r_t r_v")) == "r_t r_v"

    menu = _right_click(chart, "p_t r_t")
    assert [a.text() for a in menu.actions()] == ["p_t r_t is too high", "p_t r_t is too low",
                                                  "Clear dispute of p_t r_t"]
    assert not menu.actions()[2].isEnabled()  # nothing to clear yet
    _trigger(qtbot, w, menu, "p_t r_t is too high")
    flag = _active(open_db, pk)
    assert (flag.kind, flag.interactions, flag.model_version_id) == (
        "sub-score wrong", (("p_t r_t", "too_high"),), catalogue.model_id)
    qtbot.waitUntil(lambda: chart.disputes == (("p_t r_t", "too_high"),), timeout=WAIT)
    assert "p_t r_t \u25b2 too high: " in "\n".join(chart.row_texts)
    with open_db.begin() as s:
        event = repo.list_audit_events(s, limit=1)[0]
    assert audit_line(event).details == "flag 'sub-score wrong'; disputed p_t r_t as too high"

    # a second interaction edits the same flag
    _trigger(qtbot, w, _right_click(chart, "r_t r_v"), "r_t r_v is too low")
    edited = _active(open_db, pk)
    assert edited.id == flag.id and edited.interactions == (("p_t r_t", "too_high"), ("r_t r_v", "too_low"))
    with open_db.begin() as s:
        assert audit_line(repo.list_audit_events(s, limit=1)[0]).details == "disputed r_t r_v as too low"

    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):  # undo: r_t r_v back to undisputed
        w.triage.undo()
    assert _active(open_db, pk).interactions == (("p_t r_t", "too_high"),)
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):  # undo: the flag withdrawn
        w.triage.undo()
    assert _active(open_db, pk) is None
    with open_db.begin() as s:
        assert pk not in repo.disputed_interactions(s)
    qtbot.waitUntil(lambda: chart.disputes == (), timeout=WAIT)
    for expected in ((("p_t r_t", "too_high"),), (("p_t r_t", "too_high"), ("r_t r_v", "too_low"))):
        with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
            w.triage.redo()
        assert _active(open_db, pk).interactions == expected
    assert message_boxes == []

    with open_db.begin() as s:  # what training and the export read
        assert repo.disputed_interactions(s)[pk] == ("p_t r_t", "r_t r_v")
        export_flags(s, tmp_path / "flags.csv")
    (row,) = list(csv.DictReader(open(tmp_path / "flags.csv", encoding="utf-8")))
    assert row["disputed_interactions"] == "p_t r_t:too_high;r_t r_v:too_low"


def test_d_opens_the_chooser_and_clearing_the_last_dispute_withdraws_the_flag(make_window, catalogue, open_db, qtbot,
                                                                              focus, message_boxes):
    w = make_window(catalogue.url)
    w.actions_.advance.setChecked(False)
    view = w.review_table.view
    pk = w.app_state.current_review_pk
    _detail_on(qtbot, w, pk)
    focus(view)
    qtbot.keyClick(view, Qt.Key.Key_D)
    chooser = w.detail.chart.menu
    assert chooser is not None
    assert [a.text() for a in chooser.actions()] == [f"&{i}  {n}" for i, n in
                                                     enumerate(("p_t r_t", "p_v r_v", "p_t r_v", "p_v r_t", "r_t r_v"), 1)]
    _trigger(qtbot, w, chooser, "p_v r_t is too low")
    assert _active(open_db, pk).interactions == (("p_v r_t", "too_low"),)

    _detail_on(qtbot, w, pk)
    qtbot.waitUntil(lambda: w.detail.chart.disputes == (("p_v r_t", "too_low"),), timeout=WAIT)
    focus(view)
    qtbot.keyClick(view, Qt.Key.Key_D)
    chooser = w.detail.chart.menu
    assert "\u25bc too low" in chooser.actions()[3].text()
    _trigger(qtbot, w, chooser, "Clear dispute of p_v r_t")
    assert _active(open_db, pk) is None  # its only dispute cleared: the "sub-score wrong" flag is withdrawn
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        w.triage.undo()
    assert _active(open_db, pk).interactions == (("p_v r_t", "too_low"),)
    # the menu key on the focused chart opens the same chooser
    chart = w.detail.chart
    focus(chart)
    QApplication.sendEvent(chart, QContextMenuEvent(QContextMenuEvent.Reason.Keyboard, QPoint(1, 1),
                                                     chart.mapToGlobal(QPoint(1, 1))))
    assert chart.menu is not None and len(chart.menu.actions()) == 5
    chart.menu.close()
    assert message_boxes == []


def test_the_flag_dialog_shows_and_edits_the_disputes(make_window, catalogue, open_db, qtbot, focus, message_boxes):
    w = make_window(catalogue.url)
    w.actions_.advance.setChecked(False)
    view = w.review_table.view
    pk = w.app_state.current_review_pk
    focus(view)
    qtbot.keyClick(view, Qt.Key.Key_F)
    qtbot.waitUntil(lambda: w._flag_dialog is not None and w._flag_dialog.isVisible(), timeout=WAIT)
    dialog = w._flag_dialog
    save = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save)
    dialog.kind.setCurrentIndex(dialog.kind.findData("sub-score wrong"))
    assert not save.isEnabled() and dialog.dispute_hint.isVisibleTo(dialog)  # which sub-score?
    combo = dialog.disputes.combos["p_t r_v"]
    combo.setCurrentIndex(combo.findData("too_low"))
    assert save.isEnabled() and not dialog.dispute_hint.isVisibleTo(dialog)
    dialog.note.setPlainText("the review never mentions the product")
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        save.click()
    flag = _active(open_db, pk)
    assert (flag.kind, flag.interactions, flag.note) == ("sub-score wrong", (("p_t r_v", "too_low"),),
                                                         "the review never mentions the product")

    focus(view)
    qtbot.keyClick(view, Qt.Key.Key_F)  # F on the flagged review: its disputes filled in
    qtbot.waitUntil(lambda: w._flag_dialog is not None and w._flag_dialog.isVisible(), timeout=WAIT)
    dialog = w._flag_dialog
    assert dialog.draft().interactions == (("p_t r_v", "too_low"),)
    dialog.kind.setCurrentIndex(dialog.kind.findData("spam"))  # any kind may carry disputes
    combo = dialog.disputes.combos["p_t r_t"]
    combo.setCurrentIndex(combo.findData("too_high"))
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save).click()
    edited = _active(open_db, pk)
    assert edited.id == flag.id and edited.kind == "spam"
    assert edited.interactions == (("p_t r_t", "too_high"), ("p_t r_v", "too_low"))
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        w.triage.undo()
    assert _active(open_db, pk).interactions == (("p_t r_v", "too_low"),) and _active(open_db, pk).kind == "sub-score wrong"
    assert message_boxes == []


def test_the_models_view_counts_disputed_reviews_per_interaction(make_window, catalogue, open_db, qtbot):
    with open_db.begin() as s:
        pks = [r.id for r in repo.page_reviews(s, catalogue.product_pks["P-KETTLE"], limit=3)]
        for pk in pks[:2]:
            repo.add_flag(s, pk, "sub-score wrong", "ana", model_version_id=catalogue.model_id,
                          interactions={"p_t r_t": "too_high"})
        repo.add_flag(s, pks[2], "spam", "ana", model_version_id=catalogue.model_id,
                      interactions={"p_t r_t": "too_low", "r_t r_v": "too_high"})
    w = make_window(catalogue.url)
    view = w.models_view
    qtbot.waitUntil(lambda: view.list_model.rowCount() > 0, timeout=WAIT)
    view.select([catalogue.model_id])
    qtbot.waitUntil(lambda: view.state.disputes is not None, timeout=WAIT)
    text = view.dispute_counts.text()
    assert "Moderators disputed p_t r_t on 3 reviews (2 too high, 1 too low)" in text
    assert "Moderators disputed r_t r_v on 1 review (1 too high)" in text
    assert "p_v r_v" not in text
    # a dispute from the window updates the count
    pk = w.app_state.current_review_pk
    _detail_on(qtbot, w, pk)
    _trigger(qtbot, w, _right_click(w.detail.chart, "p_v r_v"), "p_v r_v is too low")
    qtbot.waitUntil(lambda: "Moderators disputed p_v r_v on 1 review (1 too low)" in view.dispute_counts.text(),
                    timeout=WAIT)
