"""The column-mapping import dialog: a CSV of no known format opens it with a preview and a
guessed mapping; the summary follows each edit; Import runs the mapped import; the mapping is
remembered for files with the same columns; a bad row blocks the import and is named."""
from __future__ import annotations

from waits import WAIT  # noqa: E402

import csv

import pytest
from sqlalchemy import func, select

from gui.importing import mapping_preview
from gui.state.import_mapping import ImportMappingState, remembered_key
from storage.importers.mapped import MappingCheck, preview
from storage.models import Product, Review

HEADER = ["", "ReviewId", "Item", "Stars", "Body", "Votes", "Country"]
ROWS = [
    ["0", "r1", "SKU-1", "5", "Great kettle, boils fast", "3", "UK"],
    ["1", "r2", "SKU-1", "2", "Broke after a week", "1,204", "DE"],
    ["2", "r3", "SKU-2", "4", "Comfortable shoe", "0", "UK"],
    ["3", "r4", "SKU-2", "3", "", "2", "FR"],
]


def _write(path, rows, header=HEADER):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def _counts(db):
    with db.begin() as s:
        return s.scalar(select(func.count()).select_from(Review)), s.scalar(select(func.count()).select_from(Product))


def _choose(dialog, target, column):
    combo = dialog.combos[target]
    index = 0 if column is None else combo.findData(column)
    assert index >= 0, f"{column!r} not offered for {target}"
    combo.setCurrentIndex(index)


def _open_by_import(w, qtbot, path):
    with qtbot.waitSignal(w.mapping_imports.dialog_shown, timeout=WAIT) as shown:
        w.import_paths([str(path)])
    dialog = shown.args[0]
    assert dialog is w.mapping_imports.dialog and dialog.isVisible()
    return dialog


def _settled(dialog):
    """The check of the current mapping is in (or the mapping cannot be checked)."""
    s = dialog.state
    return not dialog._timer.isActive() and (s.check is not None or s.check_error or not s.valid)


# -- the state, without Qt -------------------------------------------------------------------------


def test_state_starts_from_the_guess_and_needs_product_and_text(tmp_path):
    path = _write(tmp_path / "shop.csv", ROWS)
    state = ImportMappingState(str(path), preview(path))
    assert state.mapping == {"review_id": "ReviewId", "text": "Body", "rating": "Stars", "helpful_votes": "Votes"}
    assert not state.from_memory and "guessed" in state.origin_text
    assert not state.valid and not state.can_import
    assert "Product id" in state.summary_text and state.begin_check() is None
    state.set_target("product_id", "Item")
    assert state.valid and state.begin_check() is not None
    with pytest.raises(ValueError):
        state.set_target("product_id", "NoSuchColumn")


def test_state_ignores_a_check_of_an_older_mapping(tmp_path):
    path = _write(tmp_path / "shop.csv", ROWS)
    state = ImportMappingState(str(path), preview(path))
    state.set_target("product_id", "Item")
    old, _mapping = state.begin_check()
    state.set_target("title", "Country")  # an edit while the check runs
    assert not state.finish_check(old, MappingCheck(kind="csv", rows=4, reviews=3, products=2))
    assert state.check is None and "Checking" in state.summary_text
    token, _mapping = state.begin_check()
    assert state.finish_check(token, MappingCheck(kind="csv", rows=4, reviews=3, products=2))
    assert state.can_import and "Would import 3 reviews of 2 products" in state.summary_text


def test_state_prefers_a_remembered_mapping_that_fits_the_columns(tmp_path):
    path = _write(tmp_path / "shop.csv", ROWS)
    remembered = {"mapping": {"product_id": "Item", "text": "Body", "title": "Country"}, "keep_unmapped": False}
    state = ImportMappingState(str(path), preview(path), remembered=remembered)
    assert state.from_memory and state.mapping == remembered["mapping"] and state.keep_unmapped is False
    stale = {"mapping": {"product_id": "Item", "text": "Gone"}}  # a column this file lacks: use the guess
    state = ImportMappingState(str(path), preview(path), remembered=stale)
    assert not state.from_memory and "product_id" not in state.mapping
    assert remembered_key(HEADER) == remembered_key(list(reversed(HEADER)))


def test_only_files_of_no_known_format_need_a_mapping(tmp_path):
    odd = _write(tmp_path / "shop.csv", ROWS)
    ours = _write(tmp_path / "ours.csv", [["a-1", "P-1", "text", "2"]],
                  header=["review_id", "product_id", "text", "helpful_votes"])
    jsonl = tmp_path / "dump.jsonl"
    jsonl.write_text('{"uuid": "u1", "sku": "S-1", "comment": "ok", "thumbs": 2}\n', encoding="utf-8")
    notes = tmp_path / "notes.txt"
    notes.write_text("just one line of text\n", encoding="utf-8")
    assert mapping_preview(odd).columns == HEADER
    found = mapping_preview(jsonl)
    assert found.kind == "jsonl" and found.guess == {"product_id": "sku", "text": "comment"}
    assert mapping_preview(ours) is None
    assert mapping_preview(notes) is None
    assert mapping_preview(tmp_path) is None


# -- the dialog in the window ----------------------------------------------------------------------


def test_unknown_csv_opens_the_dialog_and_the_mapped_import_stores_the_reviews(
        make_window, catalogue, open_db, qtbot, tmp_path, settings):
    path = _write(tmp_path / "shop.csv", ROWS)
    w = make_window(catalogue.url)
    before = _counts(open_db)
    dialog = _open_by_import(w, qtbot, path)

    # the guess and the preview
    assert dialog.combos["text"].currentData() == "Body"
    assert dialog.combos["review_id"].currentData() == "ReviewId"
    assert dialog.combos["rating"].currentData() == "Stars"
    assert dialog.combos["helpful_votes"].currentData() == "Votes"
    assert dialog.combos["product_id"].currentData() is None
    assert dialog.preview.rowCount() == len(ROWS) and dialog.preview.columnCount() == len(HEADER)
    assert dialog.preview.item(0, HEADER.index("Body")).text() == "Great kettle, boils fast"
    assert dialog.preview.item(1, HEADER.index("Votes")).text() == "1,204"
    assert "Body\n\u2192 text" == dialog.preview.horizontalHeaderItem(HEADER.index("Body")).text()
    # product id is required and not guessed: nothing to import yet
    qtbot.waitUntil(lambda: _settled(dialog), timeout=WAIT)
    assert not dialog.import_button.isEnabled()
    assert "Product id" in dialog.summary.toPlainText()

    _choose(dialog, "product_id", "Item")
    qtbot.waitUntil(lambda: "Would import" in dialog.summary.toPlainText(), timeout=WAIT)
    summary = dialog.summary.toPlainText()
    assert "Would import 3 reviews of 2 products, from 4 rows" in summary
    assert "(unnamed): unnamed column" in summary
    assert "extras: Country" in summary
    assert "1 row: review without text" in summary
    assert dialog.import_button.isEnabled()

    dialog.keep.setChecked(False)  # unmapped columns dropped, and the summary says why
    qtbot.waitUntil(lambda: "Country: not mapped" in dialog.summary.toPlainText(), timeout=WAIT)
    assert "extras" not in dialog.summary.toPlainText()
    assert dialog.preview.horizontalHeaderItem(HEADER.index("Country")).text() == "Country\ndropped"
    assert _counts(open_db) == before  # checking writes nothing

    with qtbot.waitSignal(w.importer.imported, timeout=WAIT) as imported:
        dialog.import_button.click()
    assert imported.args[0] == str(path)
    qtbot.waitUntil(lambda: not w.importer.running and w.mapping_imports.dialog is None, timeout=WAIT)
    assert _counts(open_db) == (before[0] + 3, before[1] + 2)
    with open_db.begin() as s:
        r2 = s.scalars(select(Review).where(Review.review_id == "r2")).one()
        product = s.get(Product, r2.product_pk)
        assert (product.product_id, r2.text, r2.rating, r2.helpful_votes) == ("SKU-1", "Broke after a week", 2.0, 1204)
        assert "Country" not in (r2.extra or {})
        assert s.scalars(select(Review).where(Review.review_id == "r4")).first() is None  # no text: left out
    stored = settings.view_state(remembered_key(HEADER))
    assert stored["mapping"]["product_id"] == "Item" and stored["keep_unmapped"] is False


def test_the_mapping_is_remembered_for_a_file_with_the_same_columns(make_window, catalogue, qtbot, tmp_path):
    first = _write(tmp_path / "a.csv", ROWS)
    w = make_window(catalogue.url)
    dialog = _open_by_import(w, qtbot, first)
    _choose(dialog, "product_id", "Item")
    _choose(dialog, "title", "Country")
    qtbot.waitUntil(lambda: dialog.import_button.isEnabled(), timeout=WAIT)
    with qtbot.waitSignal(w.importer.imported, timeout=WAIT):
        dialog.import_button.click()
    qtbot.waitUntil(lambda: not w.importer.running and w.mapping_imports.dialog is None, timeout=WAIT)

    # the same columns in another order: the remembered mapping, not the guess
    second = _write(tmp_path / "b.csv", [[r[i] for i in (6, 5, 4, 3, 2, 1, 0)] for r in ROWS],
                    header=list(reversed(HEADER)))
    again = _open_by_import(w, qtbot, second)
    assert again.combos["product_id"].currentData() == "Item"
    assert again.combos["title"].currentData() == "Country"
    assert "remembered" in again.origin.text()
    qtbot.waitUntil(lambda: again.import_button.isEnabled(), timeout=WAIT)
    again.reject()

    # other columns: the guess again
    other = _write(tmp_path / "c.csv", [["x1", "SKU-9", "fine"]], header=["ReviewId", "Item", "Body"])
    third = _open_by_import(w, qtbot, other)
    assert third.combos["product_id"].currentData() is None and "guessed" in third.origin.text()
    third.reject()


def test_without_a_text_column_import_is_disabled(make_window, catalogue, qtbot, tmp_path):
    path = _write(tmp_path / "shop.csv", ROWS)
    w = make_window(catalogue.url)
    dialog = _open_by_import(w, qtbot, path)
    _choose(dialog, "product_id", "Item")
    qtbot.waitUntil(lambda: dialog.import_button.isEnabled(), timeout=WAIT)
    _choose(dialog, "text", None)
    assert not dialog.import_button.isEnabled()
    qtbot.waitUntil(lambda: _settled(dialog), timeout=WAIT)
    assert not dialog.import_button.isEnabled()
    assert "Review text" in dialog.summary.toPlainText() and "required" in dialog.summary.toPlainText()
    dialog.accept()  # Enter with the button disabled: nothing happens
    assert dialog.isVisible() and not w.importer.running
    dialog.reject()


def test_a_bad_row_is_named_by_line_and_field_and_nothing_is_stored(
        make_window, catalogue, open_db, qtbot, tmp_path, message_boxes):
    rows = [list(r) for r in ROWS]
    rows[1][HEADER.index("Votes")] = "1.5k"
    path = _write(tmp_path / "bad.csv", rows)
    w = make_window(catalogue.url)
    before = _counts(open_db)
    dialog = _open_by_import(w, qtbot, path)
    _choose(dialog, "product_id", "Item")
    qtbot.waitUntil(lambda: "would stop the import" in dialog.summary.toPlainText(), timeout=WAIT)
    summary = dialog.summary.toPlainText()
    assert "line 3, field 'Votes'" in summary and "1.5k" in summary
    assert not dialog.import_button.isEnabled()
    mapping = dialog.mapping()
    dialog.reject()
    assert _counts(open_db) == before

    # the same mapping through the importer: the usual error, and the database unchanged
    with qtbot.waitSignal(w.importer.failed, timeout=WAIT) as failed:
        w.importer.import_mapped(str(path), mapping)
    assert "line 3" in failed.args[1] and "Votes" in failed.args[1]
    qtbot.waitUntil(lambda: len(message_boxes) == 1, timeout=WAIT)
    assert message_boxes[0][0] == "Import failed"
    assert _counts(open_db) == before


def test_the_dialog_opens_on_purpose_for_a_file_of_a_known_format(make_window, catalogue, qtbot, tmp_path):
    path = _write(tmp_path / "ours.csv", [["a-1", "P-1", "A text", "2"]],
                  header=["review_id", "product_id", "Body", "helpful_votes"])
    w = make_window(catalogue.url)
    with qtbot.waitSignal(w.mapping_imports.dialog_shown, timeout=WAIT) as shown:
        w.mapping_imports.open_file(str(path))
    dialog = shown.args[0]
    assert dialog.combos["review_id"].currentData() == "review_id"
    assert dialog.combos["product_id"].currentData() == "product_id"
    assert dialog.combos["text"].currentData() == "Body"
    qtbot.waitUntil(lambda: "Would import 1 review of 1 product" in dialog.summary.toPlainText(), timeout=WAIT)
    dialog.reject()


def test_a_known_format_opened_on_purpose_keeps_its_own_settings_when_edited(tmp_path):
    header = ["Id", "ProductId", "UserId", "ProfileName", "HelpfulnessNumerator", "HelpfulnessDenominator", "Score",
              "Time", "Summary", "Text"]
    path = _write(tmp_path / "Reviews.csv", [["1", "B001", "U1", "Ann", "2", "3", "5", "1300000000", "Good", "Tasty"]],
                  header=header)
    state = ImportMappingState(str(path), preview(path))
    assert state.family == "finefood" and "finefood" in state.origin_text
    state.set_target("reviewer_name", None)
    mapping = state.to_mapping()
    assert mapping.id_prefix == "ff-" and "reviewer_name" not in mapping.columns


def test_quick_edits_start_one_check_and_only_the_newest_result_counts(
        make_window, catalogue, qtbot, tmp_path, monkeypatch):
    from gui.widgets import qt_import_mapping_dialog as module

    started = []
    real = module.check_job
    monkeypatch.setattr(module, "check_job", lambda path, mapping, ctx: (started.append(dict(mapping.columns)),
                                                                          real(path, mapping, ctx))[1])
    path = _write(tmp_path / "shop.csv", ROWS)
    w = make_window(catalogue.url)
    dialog = _open_by_import(w, qtbot, path)
    qtbot.waitUntil(lambda: _settled(dialog), timeout=WAIT)
    assert started == []  # product id unmapped: nothing worth checking
    _choose(dialog, "product_id", "Item")  # three edits before the event loop runs again
    _choose(dialog, "title", "Country")
    _choose(dialog, "title", None)
    qtbot.waitUntil(lambda: _settled(dialog) and not dialog.check_running, timeout=WAIT)
    assert len(started) == 1 and started[0]["product_id"] == "Item" and "title" not in started[0]
    assert "extras: Country" in dialog.summary.toPlainText()
    dialog.reject()
