"""Bulk flags from the window (issue 18): the table's selection or every review its filter holds
(all pages), a dialog with the count before confirming, one transaction, one undo step, one
audit event; the table, the detail and the products follow, and the current review stays."""
from __future__ import annotations

from waits import WAIT  # noqa: E402

from PySide6.QtCore import Qt
from sqlalchemy import func, select

from storage import repository as repo
from storage.models import Review


def _active(db, pks=None) -> dict[int, tuple]:
    """review pk -> (kind, corrected label, note) of each active flag (of ``pks`` if given)."""
    with db.begin() as s:
        out = {f.review_pk: (f.kind, f.corrected_label, f.note) for f in repo.list_flags(s)}
    return out if pks is None else {pk: v for pk, v in out.items() if pk in pks}


def _bulk_events(db):
    with db.begin() as s:
        return [e for e in repo.list_audit_events(s) if e.action == "flag.bulk"]


def _open_dialog(w, qtbot, selection: bool):
    (w.actions_.bulk_selected if selection else w.actions_.bulk_filter).trigger()
    qtbot.waitUntil(lambda: w._bulk_dialog is not None and w._bulk_dialog.isVisible(), timeout=WAIT)
    dialog = w._bulk_dialog
    qtbot.waitUntil(lambda: dialog.preview is not None, timeout=WAIT)
    return dialog


def _apply(w, qtbot, dialog, kind: str, label_id: int | None = None):
    dialog.kind.setCurrentIndex(dialog.kind.findData(kind))
    if label_id is not None:
        dialog.labels.button(label_id).setChecked(True)
    with qtbot.waitSignal(w.triage.bulk_changed, timeout=WAIT):
        dialog.apply_button.click()


def test_three_selected_rows_flag_undo_and_redo_as_one_step(make_window, catalogue, open_db, qtbot, focus):
    w = make_window(catalogue.url)
    w.actions_.advance.setChecked(False)
    view = w.review_table.view
    focus(view)
    first, second, third, fourth = (w.review_model.review(i).id for i in range(4))
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        qtbot.keyClick(view, Qt.Key.Key_1)  # the first review already has a flag: the batch edits it
    (before,) = _active(open_db).values()
    qtbot.keyClick(view, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(view, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert w.review_table.selected_review_pks() == (first, second, third)
    assert w.actions_.bulk_selected.isEnabled()
    assert w.app_state.current_review_pk == third  # the review on screen; the batch must not move it

    dialog = _open_dialog(w, qtbot, selection=True)
    assert "3 selected reviews" in dialog.scope.text()
    assert dialog.count.text() == "This will flag 3 reviews; 1 already has an active flag and will be edited."
    assert dialog.apply_button.isEnabled()
    _apply(w, qtbot, dialog, "spam")  # label: keep
    assert _active(open_db) == {first: ("spam", 1, ""), second: ("spam", None, ""), third: ("spam", None, "")}
    assert w.app_state.current_review_pk == third
    assert w.review_table.selected_review_pks() == (first, second, third)  # still selected
    qtbot.waitUntil(lambda: [w.review_model.review(i).flag_kind for i in range(4)] == ["spam", "spam", "spam", None],
                    timeout=WAIT)
    qtbot.waitUntil(lambda: w.product_model.product(w.app_state.current_product_pk).n_flagged == 3, timeout=WAIT)
    qtbot.waitUntil(lambda: w.detail.bundle is not None and w.detail.bundle.detail.row.flag_kind == "spam",
                    timeout=WAIT)
    assert "Bulk flag on 3 reviews (spam)" in w.undo_action.text()

    with qtbot.waitSignal(w.triage.bulk_changed, timeout=WAIT):
        w.undo_action.trigger()  # one undo: all three
    assert _active(open_db) == {first: before}
    qtbot.waitUntil(lambda: [w.review_model.review(i).flag_kind for i in range(3)] == [before[0], None, None],
                    timeout=WAIT)
    with qtbot.waitSignal(w.triage.bulk_changed, timeout=WAIT):
        w.redo_action.trigger()  # one redo: all three again
    assert _active(open_db) == {first: ("spam", 1, ""), second: ("spam", None, ""), third: ("spam", None, "")}
    assert fourth not in _active(open_db)
    assert w.app_state.current_review_pk == third
    with qtbot.waitSignal(w.triage.bulk_changed, timeout=WAIT):
        w.undo_action.trigger()
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        w.undo_action.trigger()  # then the single label before it: no conflict with our own batch
    assert _active(open_db) == {}
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        w.redo_action.trigger()
    with qtbot.waitSignal(w.triage.bulk_changed, timeout=WAIT):
        w.redo_action.trigger()
    assert _active(open_db) == {first: ("spam", 1, ""), second: ("spam", None, ""), third: ("spam", None, "")}

    events = _bulk_events(open_db)  # newest first: redo, undo, redo, undo, the batch; one event each
    assert [e.details["count"] for e in events] == [3] * 5
    assert [bool(e.details.get("redo")) for e in events] == [True, False, True, False, False]
    assert [bool(e.details.get("undo")) for e in events] == [False, True, False, True, False]
    assert (events[-1].details["created"], events[-1].details["edited"]) == (2, 1)
    qtbot.waitUntil(lambda: w.audit_log.audit_model.rowCount() > 0
                    and "Bulk flag" in [w.audit_log.audit_model.line(r).action
                                        for r in range(w.audit_log.audit_model.rowCount())], timeout=WAIT)


def test_filter_wide_apply_flags_every_matching_review_across_pages(make_window, catalogue, open_db, qtbot):
    from gui.queries import PAGE_SIZE

    w = make_window(catalogue.url)
    kettle = catalogue.product_pks["P-KETTLE"]
    assert w.app_state.current_product_pk == kettle
    w.table_state.update_filter(only_labeled=True)
    qtbot.waitUntil(lambda: not w.review_model.is_loading and w.review_model.rowCount() > 0, timeout=WAIT)
    with open_db.begin() as s:
        expected = set(s.scalars(select(Review.id).where(Review.product_pk == kettle, Review.label.is_not(None))))
        assert s.scalar(select(func.count()).select_from(Review).where(Review.product_pk == kettle)) > len(expected)
    assert len(expected) > PAGE_SIZE and w.review_model.rowCount() < len(expected)  # more than the loaded page
    current = w.app_state.current_review_pk

    dialog = _open_dialog(w, qtbot, selection=False)
    assert "Kettle" in dialog.scope.text() and "has a vote label" in dialog.scope.text()
    assert dialog.count.text() == f"This will flag {len(expected):,} reviews."
    _apply(w, qtbot, dialog, "off-topic", label_id=0)
    flagged = _active(open_db)
    assert set(flagged) == expected
    assert set(flagged.values()) == {("off-topic", 0, "")}
    assert w.app_state.current_review_pk == current
    (event,) = _bulk_events(open_db)
    assert event.details["count"] == len(expected) and event.details["created"] == len(expected)
    qtbot.waitUntil(lambda: all(w.review_model.review(i).flag_kind == "off-topic"
                                for i in range(w.review_model.rowCount())), timeout=WAIT)
    qtbot.waitUntil(lambda: w.product_model.product(kettle).n_flagged == len(expected), timeout=WAIT)

    with qtbot.waitSignal(w.triage.bulk_changed, timeout=WAIT):
        w.undo_action.trigger()
    assert _active(open_db) == {}


def test_undoing_a_batch_leaves_a_colleagues_change_and_names_them(make_window, catalogue, open_db, qtbot,
                                                                    message_boxes):
    w = make_window(catalogue.url)
    view = w.review_table.view
    view.selectAll()
    pks = w.review_table.selected_review_pks()
    assert len(pks) == w.review_model.rowCount() > 3
    dialog = _open_dialog(w, qtbot, selection=True)
    _apply(w, qtbot, dialog, "spam", label_id=4)
    assert len(_active(open_db)) == len(pks)
    with open_db.begin() as s:
        theirs = repo.active_flag(s, pks[1])
        repo.edit_flag(s, theirs.id, "colleague", theirs.version, note="I disagree")
    with qtbot.waitSignal(w.triage.bulk_changed, timeout=WAIT):
        w.undo_action.trigger()
    assert _active(open_db) == {pks[1]: ("spam", 4, "I disagree")}
    ((title, text),) = message_boxes
    assert "left as they are" in title
    assert f"1 of the {len(pks):,} flags" in text and "colleague edited it" in text and "I disagree" not in title
    (undo, _batch) = _bulk_events(open_db)
    assert undo.details["undo"] and undo.details["conflicts"] == 1 and undo.details["count"] == len(pks) - 1


def test_only_disagreements_flags_what_the_table_counts(make_window, catalogue, open_db, qtbot):
    w = make_window(catalogue.url)
    w.table_state.update_filter(only_disagreements=True)
    qtbot.waitUntil(lambda: not w.review_model.is_loading and w.review_model.rowCount() > 0, timeout=WAIT)
    total = w.review_model.total
    dialog = _open_dialog(w, qtbot, selection=False)
    assert dialog.preview.count == total and "the model disagrees with" in dialog.scope.text()
    _apply(w, qtbot, dialog, "other")
    assert len(_active(open_db)) == total
    assert set(_active(open_db)) >= set(w.review_model.loaded_pks())


# ------------------------------------------------------------------ the jobs, without a window


class _Busy(Exception):
    pass


class RetryingDb:
    """Every ``run`` first fails once after the function ran (a busy commit, retried)."""

    def __init__(self, db) -> None:
        self.db = db

    def run(self, fn):
        try:
            with self.db.sessions.begin() as session:
                fn(session)
                raise _Busy()
        except _Busy:
            pass
        return self.db.run(fn)


def test_bulk_jobs_survive_retried_transactions_and_follow_a_renamed_kind(open_db, catalogue):
    from gui.bulk import BulkChain, BulkDraft, BulkTarget, apply_job, redo_job, undo_job
    from gui.commands import rename_kind_in_chains

    with open_db.begin() as s:
        pks = tuple(s.scalars(select(Review.id).where(Review.product_pk == catalogue.product_pks["P-TREES"])))
        old = repo.add_flag(s, pks[0], "spam", "colleague", 2, "theirs")
    db = RetryingDb(open_db)
    chain = BulkChain()
    done = apply_job(db, chain, BulkTarget(review_pks=pks), BulkDraft("spam", None, "bulk"), "mod", None, "trees")
    assert done.count == len(pks) and done.review_pks == set(pks)
    assert _active(open_db) == {pk: ("spam", None, "bulk") for pk in pks}  # each once, not twice
    assert len(_bulk_events(open_db)) == 1
    with open_db.begin() as s:
        repo.rename_flag_kind(s, "spam", "advert", "admin")
    rename_kind_in_chains([chain], "spam", "advert")
    undo_job(db, chain, "mod")
    assert _active(open_db) == {pks[0]: ("advert", 2, "theirs")}
    assert redo_job(db, chain, "mod").conflicts == 0
    assert _active(open_db) == {pk: ("advert", None, "bulk") for pk in pks}
    with open_db.begin() as s:
        assert repo.get_flag(s, old.id).kind == "advert"
