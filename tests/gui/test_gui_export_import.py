"""Export the view and the flags and read them back; import good and bad catalogues."""
from __future__ import annotations

from waits import WAIT  # noqa: E402

import csv
import datetime as dt
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
    assert {(r["product_id"], r["model_version"]) for r in rows} == {("P-KETTLE", "v1")}


def _read_csv(path):
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_export_view_with_no_product_selected_exports_every_products_rows(make_window, catalogue, qtbot, tmp_path):
    w = make_window(catalogue.url)
    with qtbot.waitSignal(w.review_model.loaded, timeout=WAIT):
        w.app_state.current_product_pk = None
    assert w.review_model.rowCount() == 0 and w.actions_.export_view.isEnabled()
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    out = tmp_path / "all.csv"
    w.export_to(str(out), view=True)
    _wait_exported(qtbot, w, out)
    rows = _read_csv(out)
    assert len(rows) == 1200 + 6 + 4
    assert {r["product_id"] for r in rows} == {"P-KETTLE", "P-TREES", "P-SHOE"}
    assert list(rows[0]) == list(VIEW_FIELDS)
    by_product = {pid: [r for r in rows if r["product_id"] == pid] for pid in ("P-TREES", "P-SHOE")}
    assert {(r["model_version"], r["model_version_id"]) for r in by_product["P-TREES"]} == {("v1", str(catalogue.model_id))}
    assert {(r["model_version"], r["model_version_id"], r["score"]) for r in by_product["P-SHOE"]} == {("", "", "")}
    assert sorted(int(r["model_rank"]) for r in by_product["P-TREES"]) == [1, 2, 3, 4, 5, 6]  # ranked in its product
    (stamp,) = {r["exported_at"] for r in rows}
    exported = dt.datetime.fromisoformat(stamp)
    assert exported.utcoffset() == dt.timedelta(0) and before <= exported <= dt.datetime.now(dt.timezone.utc)
    assert "of all products" in w.status.currentMessage()

    with qtbot.waitSignal(w.review_model.loaded, timeout=WAIT):
        w.table_state.update_filter(text="Shoe text")
    w.export_to(str(tmp_path / "shoes.jsonl"), view=True)
    _wait_exported(qtbot, w, tmp_path / "shoes.jsonl")
    shoes = [json.loads(line) for line in (tmp_path / "shoes.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(r["review_id"] for r in shoes) == ["s-0", "s-1", "s-2", "s-3"]
    assert {(r["product_id"], r["model_version"], r["model_version_id"]) for r in shoes} == {("P-SHOE", "", None)}


def test_export_view_of_only_disagreements_across_products(make_window, catalogue, qtbot, tmp_path):
    w = make_window(catalogue.url)
    with qtbot.waitSignal(w.review_model.loaded, timeout=WAIT):
        w.table_state.update_filter(only_disagreements=True)
    in_kettle = w.review_model.total
    with qtbot.waitSignal(w.review_model.loaded, timeout=WAIT):
        w.app_state.current_product_pk = None
    out = tmp_path / "disagree.csv"
    w.export_to(str(out), view=True)
    _wait_exported(qtbot, w, out)
    rows = _read_csv(out)
    assert 0 < in_kettle < len(rows) < 1200
    assert len([r for r in rows if r["product_id"] == "P-KETTLE"]) == in_kettle
    assert {r["product_id"] for r in rows} == {"P-KETTLE", "P-TREES"}  # the unscored product cannot disagree


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
    assert rows[0]["model_version"] == "v1" and str(rows[0]["model_version_id"]) == str(catalogue.model_id)
    assert dt.datetime.fromisoformat(rows[0]["exported_at"]).utcoffset() == dt.timedelta(0)


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
