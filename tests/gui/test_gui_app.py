"""The console script, opening databases, recent files and the first-run sample."""
from __future__ import annotations

from waits import WAIT, LONG_WAIT  # noqa: E402

import pytest
from PySide6.QtWidgets import QApplication, QFileDialog

from gui import app as gui_app
from gui.widgets.qt_main_window import QtMainWindow


def test_parse_args():
    args = gui_app.parse_args(["--db", "sqlite:///x.db", "a", "b"])
    assert (args.db, args.files, args.no_sample) == ("sqlite:///x.db", ["a", "b"], False)
    assert gui_app.parse_args([]).db is None


def test_main_opens_the_given_database(qtbot, catalogue, monkeypatch, tmp_path):
    from gui.settings import Settings

    monkeypatch.setattr(gui_app, "Settings", lambda: Settings.at(tmp_path / "settings.ini"))  # not the user's
    monkeypatch.setattr(QApplication, "exec", lambda self=None: 0)
    settled = []  # the heap is settled once the window is made (not here: it would freeze the tests' heap)
    monkeypatch.setattr(gui_app, "settle_heap", lambda: settled.append(
        [w for w in QApplication.topLevelWidgets() if isinstance(w, QtMainWindow)]))
    assert gui_app.main(["--db", catalogue.url, "--no-sample"]) == 0
    (window,) = [w for w in QApplication.topLevelWidgets() if isinstance(w, QtMainWindow)]
    qtbot.addWidget(window)
    try:
        assert settled == [[window]]
        qtbot.waitUntil(lambda: window.product_model.rowCount() == 3 and not window.store.busy, timeout=WAIT)
        assert window.app_state.database_path == str(catalogue.path)
    finally:
        window.close()


def test_settling_the_heap_takes_what_is_alive_out_of_full_collections():
    """What gui.app.main does once the window is made: a full collection no longer walks the
    objects alive then (in a subprocess: freezing the tests' own heap would keep its garbage)."""
    import subprocess
    import sys

    code = ("import gc; from gui import app; keep = [[i] for i in range(300000)]; "
            "print(len(gc.get_objects()) > 300000); app.settle_heap(); "
            "print(gc.get_freeze_count() > 300000, len(gc.get_objects()) < 1000)")  # what a collection walks
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "True"]


def test_empty_default_database_gets_the_bundled_sample(make_window, qtbot, tmp_path, monkeypatch):
    from gui import importing

    sample = importing.sample_catalogue()
    if sample is None:
        pytest.skip("resources.sample_path() is not there yet")
    from storage.db import default_db_url

    w = make_window(None, wait=False, sample=True)
    qtbot.waitUntil(lambda: w.product_model.rowCount() > 0 and not w.importer.running and not w.store.busy,
                    timeout=LONG_WAIT)
    assert w.app_state.database_path == default_db_url().removeprefix("sqlite:///")


def test_file_open_and_recent_databases(make_window, catalogue, qtbot, tmp_path, monkeypatch, settings, idle):
    from storage.db import open_database

    empty = tmp_path / "other.db"
    open_database(str(empty)).dispose()
    w = make_window(catalogue.url)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(empty), ""))
    w.actions_.open_db.trigger()
    qtbot.waitUntil(lambda: w.app_state.database_path == str(empty) and not w.store.busy, timeout=WAIT)
    assert w.product_model.rowCount() == 0
    assert w.review_model.rowCount() == 0
    assert settings.recent_databases()[0].endswith("other.db")
    recent = [a for a in w.recent_menu.actions() if a.text().endswith("store.db")]
    recent[0].trigger()
    idle(w)
    assert w.app_state.database_path == str(catalogue.path)
    assert w.product_model.rowCount() == 3
