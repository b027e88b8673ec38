"""The audit dock reads as words: review ids and product titles as targets, readable details,
undos and redos as such; its filter finds a review's events by review id or product title."""
from __future__ import annotations

from waits import WAIT  # noqa: E402

from PySide6.QtCore import Qt

from gui.models.audit_model import DETAILS_COLUMN


def _rows(w) -> list[tuple[str, ...]]:
    proxy = w.audit_log.proxy
    return [tuple(proxy.index(r, c).data() for c in range(proxy.columnCount())) for r in range(proxy.rowCount())]


def _reload_audit(qtbot, w, n: int) -> None:
    w.audit_log.reload()
    qtbot.waitUntil(lambda: w.audit_log.audit_model.rowCount() >= n, timeout=WAIT)


def _change(qtbot, w, do) -> None:
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        do()
    qtbot.waitUntil(lambda: not w.store.busy, timeout=WAIT)


def test_flag_undo_redo_read_as_words_with_review_id_and_product(make_window, catalogue, settings, qtbot):
    settings.user_name = "ana"
    w = make_window(catalogue.url)
    row = w.review_model.review(3)
    w.app_state.current_review_pk = row.id
    _change(qtbot, w, lambda: w.triage.set_label(2))
    _change(qtbot, w, w.triage.undo)
    _change(qtbot, w, w.triage.redo)
    _change(qtbot, w, lambda: w.triage.set_label(4))
    _change(qtbot, w, w.triage.undo)
    _change(qtbot, w, w.triage.redo)
    _reload_audit(qtbot, w, 6)

    rows = _rows(w)[:6]
    assert {r[1] for r in rows} == {"ana"}
    assert {r[3] for r in rows} == {f"{row.review_id} \u00b7 Kettle"}  # not "review 123"
    assert [r[2] for r in rows] == ["Redo", "Undo", "Edit flag", "Redo", "Undo", "Flag"]
    redo_edit, undo_edit, edit, redo_add, undo_add, add = (r[4] for r in rows)
    assert add.startswith("flag '") and add.endswith("(corrected label 2)")
    kind = add.split("'")[1]
    assert undo_add == f"undo of: flag '{kind}' (corrected label 2)"
    assert redo_add == f"redo of: flag '{kind}' (corrected label 2)"
    assert "label 2 \u2192 4" in edit and "{" not in edit
    assert undo_edit.startswith("undo of: ") and "label 2 \u2192 4" in undo_edit
    assert redo_edit.startswith("redo of: ") and "label 2 \u2192 4" in redo_edit
    tip = w.audit_log.proxy.index(5, DETAILS_COLUMN).data(Qt.ItemDataRole.ToolTipRole)
    assert "flag_id" in tip and "corrected_label" in tip  # the stored JSON stays at hand


def test_filter_finds_a_reviews_events_by_review_id_or_product_title(make_window, catalogue, qtbot):
    w = make_window(catalogue.url)
    kettle_review = w.review_model.review(1)
    w.app_state.current_review_pk = kettle_review.id
    _change(qtbot, w, lambda: w.triage.set_label(1))
    _change(qtbot, w, w.triage.undo)
    w.app_state.current_product_pk = catalogue.product_pks["P-TREES"]
    qtbot.waitUntil(lambda: w.review_model.rowCount() > 0 and not w.review_model.is_loading
                    and w.review_model.review(0).review_id.startswith("t-"), timeout=WAIT)
    trees_review = w.review_model.review(0)
    w.app_state.current_review_pk = trees_review.id
    _change(qtbot, w, lambda: w.triage.set_label(3))
    _reload_audit(qtbot, w, 3)

    w.audit_log.filter.setText(kettle_review.review_id.upper())  # case does not matter
    assert [(r[2], r[3]) for r in _rows(w)] == [("Undo", f"{kettle_review.review_id} \u00b7 Kettle"),
                                              ("Flag", f"{kettle_review.review_id} \u00b7 Kettle")]
    w.audit_log.filter.setText("memory of trees")
    assert [(r[2], r[3]) for r in _rows(w)] == [("Flag", f"{trees_review.review_id} \u00b7 Memory of Trees")]
    w.audit_log.filter.setText("P-TREES")  # the product id behind the title
    assert len(_rows(w)) == 1
    w.audit_log.filter.setText("undo of")
    assert [r[3] for r in _rows(w)] == [f"{kettle_review.review_id} \u00b7 Kettle"]
    w.audit_log.filter.clear()
    assert len(_rows(w)) == w.audit_log.audit_model.rowCount() >= 3
