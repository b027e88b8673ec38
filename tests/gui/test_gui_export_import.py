"""Export the view and the flags and read them back; import good and bad catalogues."""
from __future__ import annotations

from waits import WAIT  # noqa: E402

import csv
import json

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from gui.export import VIEW_FIELDS
from storage import repository as repo


def _wait_exported(qtbot, w, path):
    qtbot.waitUntil(lambda: path.exists() and not w.store.busy, timeout=WAIT)


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_export_current_view_writes_every_row_in_view_order(make_window, catalogue, qtbot, tmp_path, suffix):
    w = make_window(catalogue.url)
    with qtbot.waitSignal(w.review_model.loaded, timeout=WAIT):
        w.review_table.filter_bar.search.setText("boils")
        w.review_table.filter_bar._on_search_settled()
    out = tmp_path / f"view.{suffix}"
    w.export_to(str(out), view=True)
    _wait_exported(qtbot, w, out)
    if suffix == "csv":
        with out.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert list(rows[0]) == list(VIEW_FIELDS)
    else:
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 120  # all matching rows, not only the loaded page
    assert [r["review_id"] for r in rows[:5]] == [w.review_model.review(i).review_id for i in range(5)]
    assert str(rows[0]["model_rank"]) == w.review_model.index(0, 0).data()


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_export_all_flags(make_window, catalogue, qtbot, tmp_path, suffix):
    w = make_window(catalogue.url)
    pk = w.app_state.current_review_pk
    with qtbot.waitSignal(w.triage.flag_changed, timeout=WAIT):
        w.triage.set_label(2)
    out = tmp_path / f"flags.{suffix}"
    w.export_to(str(out), view=False)
    _wait_exported(qtbot, w, out)
    if suffix == "csv":
        with out.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert rows[0]["corrected_label"] == "2"
    else:
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert rows[0]["corrected_label"] == 2
    assert len(rows) == 1
    assert rows[0]["review_id"] == w.review_model.review(w.review_model.row_of(pk)).review_id
    assert rows[0]["product_id"] == "P-KETTLE"


def test_export_to_an_unknown_extension_says_so(make_window, catalogue, qtbot, tmp_path, message_boxes):
    w = make_window(catalogue.url)
    w.export_to(str(tmp_path / "view.xlsx"), view=True)
    qtbot.waitUntil(lambda: len(message_boxes) == 1, timeout=WAIT)
    assert message_boxes[0][0] == "Export failed" and ".csv or .jsonl" in message_boxes[0][1]
    assert not (tmp_path / "view.xlsx").exists()


def _summary(db):
    with db.begin() as s:
        return repo.catalogue_summary(s)


def _drop(window, paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def test_dropping_a_bad_catalogue_shows_the_error_and_changes_nothing(
        make_window, catalogue, open_db, qtbot, tmp_path, message_boxes):
    pytest.importorskip("storage.importers")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "products.jsonl").write_text(
        '{"product_id": "NEW-1", "title": "ok"}\n{"product_id": "NEW-2", "title": \n', encoding="utf-8")
    (bad / "reviews.jsonl").write_text(
        '{"review_id": "n-1", "product_id": "NEW-1", "text": "hi", "helpful_votes": 1}\n', encoding="utf-8")
    w = make_window(catalogue.url)
    before = _summary(open_db)
    with qtbot.waitSignal(w.importer.failed, timeout=WAIT) as failed:
        _drop(w, [bad])
    qtbot.waitUntil(lambda: len(message_boxes) == 1, timeout=WAIT)
    title, text = message_boxes[0]
    assert title == "Import failed"
    assert "products.jsonl" in text and "line 2" in text and "not changed" in text
    assert failed.args[0] == str(bad)
    assert _summary(open_db) == before
    assert w.importer.dialog is None


def test_files_given_at_start_are_imported_with_progress(
        make_window, catalogue, open_db, qtbot, tmp_path, settings, monkeypatch):
    pytest.importorskip("storage.importers")
    from gui.widgets.qt_import_progress import QtImportProgress

    reports = []
    original = QtImportProgress.report
    monkeypatch.setattr(QtImportProgress, "report", lambda self, event: (reports.append(event), original(self, event)))
    settings.user_name = "importer-ana"
    good = tmp_path / "good"
    good.mkdir()
    (good / "products.jsonl").write_text('{"product_id": "NEW-1", "title": "Lamp", "category": "Home"}\n', encoding="utf-8")
    (good / "reviews.jsonl").write_text(
        "".join(json.dumps({"review_id": f"n-{i}", "product_id": "NEW-1", "text": f"lamp {i}", "helpful_votes": i}) + "\n"
                for i in range(30)), encoding="utf-8")
    w = make_window(catalogue.url, wait=False, import_paths=[good])
    shown = []  # every status message (a later one, e.g. "v1 has not scored...", may replace it)
    w.status.messageChanged.connect(shown.append)
    qtbot.waitUntil(lambda: w.product_model.rowCount() == 4 and not w.store.busy and not w.importer.running,
                    timeout=WAIT)
    assert _summary(open_db)["reviews"] == 1200 + 6 + 4 + 30
    with open_db.begin() as s:
        events = repo.list_audit_events(s, limit=5)
    assert any(e.actor == "importer-ana" for e in events)
    assert any(m.startswith("Imported good: 1 product added") for m in shown), shown
    assert reports and reports[-1]["done"] == reports[-1]["total"] > 0
