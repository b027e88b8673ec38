"""The training panel drives the real engine (`python -m engine train`) in a QProcess, on a tiny
model: start, progress, cancel, restart, finish, a registered version, rescoring shown in the
table with rank-change arrows; a user error and a crash of the trainer are surfaced.

An event-loop heartbeat records the longest GUI stall during a real training run and during
rescoring; it asserts nothing about time, it prints the figures and writes them to
``$REVIEWSCOPE_STALL_REPORT`` (default: the test's tmp folder).
"""
from __future__ import annotations

from waits import WAIT, LONG_WAIT  # noqa: E402

import json
import os
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer

from gui.models.review_table_model import column_of
from gui.training.setup import ActivatePolicy, FieldSpec, RecipeCatalog
from gui.training.state import RunStatus
from helpers.tiny_engine import tiny_config
from storage import open_database
from storage import repository as repo

TRAIN_TIMEOUT = LONG_WAIT


class Heartbeat:
    """A 10 ms QTimer; the longest gap between its ticks is the longest event-loop stall."""

    def __init__(self, interval_ms: int = 10) -> None:
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.phase = ""
        self.worst: dict[str, float] = {}
        self.ticks: dict[str, int] = {}
        self._last = 0.0

    def start(self, phase: str) -> None:
        self.phase = phase
        self._last = time.perf_counter()
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        gap = now - self._last
        self._last = now
        self.worst[self.phase] = max(self.worst.get(self.phase, 0.0), gap)
        self.ticks[self.phase] = self.ticks.get(self.phase, 0) + 1

    def stop(self) -> None:
        self.timer.stop()
        self.phase = ""


def _report_stalls(beat: Heartbeat, tmp_path: Path) -> None:
    report = {phase: {"longest_stall_ms": round(gap * 1000, 1), "ticks": beat.ticks.get(phase, 0)}
              for phase, gap in beat.worst.items()}
    path = Path(os.environ.get("REVIEWSCOPE_STALL_REPORT", tmp_path / "gui_stalls.json"))
    path.write_text(json.dumps(report, indent=1))
    print(f"\nlongest GUI event-loop stalls: {report} (written to {path})")


def _setup_tiny(panel, encoder: str, epochs: int) -> None:
    for name, value in tiny_config(encoder).items():
        if name != "epochs":
            panel.setup.set_override(name, value)
    panel.setup.epochs = epochs


def _models(url: str):
    db = open_database(url)
    try:
        with db.begin() as s:
            return repo.list_model_versions(s), repo.list_training_runs(s)
    finally:
        db.dispose()


def test_train_cancel_restart_finish_rescore_and_retrain(make_window, qtbot, training_db, tiny_encoder_path, tmp_path):
    w = make_window(training_db)
    panel, state = w.training, w.training.state
    qtbot.waitUntil(lambda: w.engine_info.catalog is not None and bool(w.engine_info.report), timeout=LONG_WAIT)
    assert w._device_text and w._device_text in w.status.device_label.text()  # what `engine doctor` found
    qtbot.waitUntil(lambda: panel.form.data_label.text().startswith(tuple("0123456789")), timeout=WAIT)
    assert not panel.form.continuing  # no model yet: from scratch
    _setup_tiny(panel, tiny_encoder_path, epochs=200)
    assert "changed" in panel.form.advanced.text()

    # start, receive progress, cancel: the trainer stops after its step, nothing is registered
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert not panel.start_button.isEnabled() and panel.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: len(state.steps) >= 1, timeout=TRAIN_TIMEOUT)
    assert state.status is RunStatus.RUNNING and state.progress.total > 0
    assert panel.loss_chart.step_series.count() >= 1
    assert "epoch 1/200" in panel.progress.bar.format()
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: state.status is RunStatus.CANCELLED, timeout=LONG_WAIT)
    models, runs = _models(training_db)
    assert models == [] and runs[-1].status == "cancelled"
    assert panel.start_button.isEnabled() and panel.restart_button.isEnabled()

    # restart (the same run, now 2 epochs) to the end, with a heartbeat running
    beat = Heartbeat()
    panel.setup.epochs = 2
    beat.start("training")
    qtbot.mouseClick(panel.restart_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not state.status.active, timeout=TRAIN_TIMEOUT)
    assert state.status is RunStatus.SUCCEEDED, state.error
    beat.start("rescoring")
    qtbot.waitUntil(lambda: w.scoring.state.status is RunStatus.SUCCEEDED, timeout=TRAIN_TIMEOUT)
    beat.stop()
    first = state.outcome
    assert len(state.epochs) == 2 and panel.map_chart.map_series.count() == 2
    assert panel.pseudo_mean_chart.human.count() == 2
    models, runs = _models(training_db)
    assert [m.name for m in models] == [first.model] and runs[-1].status == "succeeded"
    assert first.activated  # if-better, and a run from scratch has no parent to beat
    qtbot.waitUntil(lambda: w.app_state.active_model is not None and w.app_state.active_model.name == first.model,
                    timeout=WAIT)
    qtbot.waitUntil(lambda: w.review_model.rowCount() > 0 and w.review_model.review(0).score is not None
                    and not w.store.busy, timeout=WAIT)
    qtbot.waitUntil(lambda: w.models_view.list_model.rowCount() == 1, timeout=WAIT)
    assert f"{first.model}" in w.status.model_label.text()

    # retrain, continuing from the active model: the table shows rank changes against it
    qtbot.waitUntil(lambda: panel.form.continuing, timeout=WAIT)
    panel.setup.epochs = 1
    panel.setup.activate = ActivatePolicy.ALWAYS
    beat.start("training")
    assert panel.start()
    qtbot.waitUntil(lambda: not state.status.active, timeout=TRAIN_TIMEOUT)
    assert state.status is RunStatus.SUCCEEDED, state.error
    assert state.parent == first.model
    second = state.outcome
    beat.start("rescoring")
    qtbot.waitUntil(lambda: w.scoring.state.status is RunStatus.SUCCEEDED and w.scoring.state.model == second.model,
                    timeout=TRAIN_TIMEOUT)
    qtbot.waitUntil(lambda: w.app_state.active_model is not None and w.app_state.active_model.name == second.model
                    and not w.store.busy and not w.review_model.is_loading, timeout=WAIT)
    beat.stop()
    _report_stalls(beat, tmp_path)
    models, _runs = _models(training_db)
    by_name = {m.name: m for m in models}
    assert by_name[second.model].parent_id == by_name[first.model].id and by_name[second.model].active
    model = w.review_model
    qtbot.waitUntil(lambda: model.rank_move(model.review(0).id) is not None, timeout=WAIT)
    rank_col = column_of("rank")
    tip = model.index(0, rank_col).data(Qt.ItemDataRole.ToolTipRole)
    assert f"Under the previous model, {first.model}" in tip
    for r in range(model.rowCount()):
        delta = model.rank_move(model.review(r).id).delta
        text = model.index(r, rank_col).data()
        if delta > 0:
            assert text.endswith(f"\u25b2{delta}"), text
        elif delta < 0:
            assert text.endswith(f"\u25bc{-delta}"), text
        else:
            assert text.isdigit(), text


# ---------------------------------------------------------------- failures


@pytest.fixture
def bare_panel(qtbot, training_db):
    """A training panel on a Store of its own (no main window), closed at the end."""
    from gui.state.app_state import AppState
    from gui.store import Store
    from gui.training.qt_training_panel import QtTrainingPanel
    from gui.training.scoring import QtScoringController

    def make(command=None):
        store = Store()
        with qtbot.waitSignal(store.opened, timeout=WAIT):
            store.open(training_db)
        scoring = QtScoringController(command)
        panel = QtTrainingPanel(store, AppState(), scoring, command)
        qtbot.addWidget(panel)
        made.append((store, scoring, panel))
        panel.reload()
        qtbot.waitUntil(lambda: not store.busy, timeout=WAIT)
        return panel

    made = []
    yield make
    import shiboken6

    for store, scoring, panel in made:
        panel.shutdown()
        scoring.shutdown()
        store.close()
        shiboken6.delete(scoring)  # parentless: destroyed here, on the GUI thread
        shiboken6.delete(store)


def test_a_user_error_from_the_trainer_is_shown_and_nothing_changes(bare_panel, qtbot, training_db):
    panel = bare_panel()
    panel.setup.catalog = RecipeCatalog({"cpu-quick": {"hidden": 64}}, (FieldSpec("hidden", "int", 128),))
    panel.setup.set_override("hidden", 15)  # attention_heads (4) does not divide 15: MMSSConfig refuses it
    assert panel.start()
    qtbot.waitUntil(lambda: not panel.state.status.active, timeout=LONG_WAIT)
    assert panel.state.status is RunStatus.FAILED
    assert "attention_heads" in panel.state.error and "15" in panel.state.error
    assert panel.progress.status_label.text() == "Failed" and "attention_heads" in panel.progress.stage.text()
    assert "attention_heads" in panel.log.toPlainText()
    assert _models(training_db) == ([], [])
    assert panel.start_button.isEnabled()


FAKE_ENGINE = r'''
import json, os, signal, sys
mode = os.environ["FAKE_MODE"]
if mode == "stubborn":  # ignores SIGTERM from its first line: Cancel must kill it after the grace period
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
print(json.dumps({"event": "start", "run_id": 1, "device": "cpu", "config": {"epochs": 3}, "train_products": 1,
                  "dev_products": 1, "parent": None}), flush=True)
print(json.dumps({"event": "step", "epoch": 1, "step": 1, "steps": 2, "loss": 0.9, "samples_per_s": 5,
                  "eta_s": 9}), flush=True)
if mode == "crash":
    raise RuntimeError("CUDA error: device-side assert triggered")
if mode == "killed":
    os.kill(os.getpid(), signal.SIGKILL)
if mode == "stubborn":
    while True:
        signal.pause()  # until SIGKILL
'''


@pytest.fixture
def fake_engine(tmp_path, monkeypatch):
    script = tmp_path / "fake_engine.py"
    script.write_text(FAKE_ENGINE)

    def command(mode: str) -> list[str]:
        monkeypatch.setenv("FAKE_MODE", mode)
        return [sys.executable, str(script)]

    return command


def test_a_crashing_trainer_shows_its_traceback_and_the_app_stays_usable(bare_panel, qtbot, fake_engine, training_db):
    panel = bare_panel(fake_engine("crash"))
    assert panel.start()
    qtbot.waitUntil(lambda: not panel.state.status.active, timeout=WAIT)
    assert panel.state.status is RunStatus.FAILED
    assert panel.state.error == "RuntimeError: CUDA error: device-side assert triggered"
    assert "Traceback" in panel.log.toPlainText()
    assert panel.views.currentWidget() is panel.log  # the log tab comes forward on a failure
    assert len(panel.state.steps) == 1  # what arrived before the crash is kept on screen
    assert panel.restart()  # and a new run can start at once
    qtbot.waitUntil(lambda: not panel.state.status.active, timeout=WAIT)
    assert _models(training_db) == ([], [])


def test_a_killed_trainer_and_one_that_ignores_cancel(bare_panel, qtbot, fake_engine):
    panel = bare_panel(fake_engine("killed"))
    panel.start()
    qtbot.waitUntil(lambda: not panel.state.status.active, timeout=WAIT)
    assert panel.state.status is RunStatus.FAILED and "unexpectedly" in panel.state.error

    stubborn = bare_panel(fake_engine("stubborn"))
    stubborn.controller.process.kill_after_ms = 500
    stubborn.start()
    qtbot.waitUntil(lambda: len(stubborn.state.steps) == 1, timeout=WAIT)
    assert stubborn.cancel()
    qtbot.waitUntil(lambda: not stubborn.state.status.active, timeout=WAIT)
    assert stubborn.state.status is RunStatus.CANCELLED
    assert "did not stop within" in stubborn.log.toPlainText()  # it ignored SIGTERM: killed after the grace time


def test_advanced_options_dialog_edits_the_setup_and_follows_it(bare_panel, qtbot):
    panel = bare_panel()
    panel.setup.catalog = RecipeCatalog(
        {"cpu-quick": {"hidden": 64}},
        (FieldSpec("hidden", "int", 128, "d, the width"), FieldSpec("use_metadata", "bool", True),
         FieldSpec("margin_mode", "choice", "fixed", choices=("fixed", "adaptive")), FieldSpec("epochs", "int", 10)))
    dialog = panel.open_advanced_options()  # deletes itself on close
    assert "epochs" not in dialog.editors  # set in the panel itself
    hidden = dialog.editors["hidden"]
    assert hidden.text() == "64"
    hidden.setText("abc")
    hidden.editingFinished.emit()
    assert "hidden: expected a whole number" in dialog.error.text() and hidden.text() == "64"
    hidden.setText("32")
    hidden.editingFinished.emit()
    dialog.editors["use_metadata"].setChecked(False)
    assert panel.setup.overrides == {"hidden": 32, "use_metadata": False}
    assert "2 changed" in panel.form.advanced.text()
    panel.setup.clear_override("hidden")
    assert hidden.text() == "64"
    dialog.close()


# ---------------------------------------------------------------- first launch


FAKE_SCORER = r'''
import json, os, sys
args = sys.argv[1:]
with open(sys.argv[0] + ".calls", "a") as fh:
    fh.write(json.dumps(args + ["ENV_DB=" + os.environ.get("REVIEWSCOPE_DB", "")]) + "\n")
if args[0] == "doctor":
    print(json.dumps({"torch": "2.x", "cuda": True, "device": "NVIDIA H200"}))
elif args[0] == "recipes":
    print(json.dumps({"recipes": {"cpu-quick": {}, "gpu-full": {}}, "fields": []}))
elif args[0] == "score":
    print(json.dumps({"event": "start", "model": "starter", "reviews": 737, "device": "cpu"}), flush=True)
    print(json.dumps({"event": "progress", "done": 737, "total": 737, "reviews_per_s": 900.0, "eta_s": 0}), flush=True)
    print(json.dumps({"event": "done", "model": "starter", "scored": 737, "seconds": 0.8}), flush=True)
'''


@pytest.mark.parametrize("mode", ["shipped", "engine", "no starter"])
def test_first_launch_scores_the_imported_sample_with_the_starter_model(qtbot, settings, tmp_path, monkeypatch, mode):
    """"shipped": the starter's scores of the sample are on screen without a scoring run;
    "engine": they do not apply (say, a sample edited since), so `engine score` scores it;
    "no starter": an installation without the starter says how to get a model."""
    from gui import importing
    from gui.models_view import operations
    from gui.widgets.qt_main_window import QtMainWindow

    if importing.sample_catalogue() is None:
        pytest.skip("the bundled sample is not there")
    script = tmp_path / "fake_scorer.py"
    script.write_text(FAKE_SCORER)
    monkeypatch.setattr(operations, "starter_model_exists", lambda: mode != "no starter")
    if mode == "engine":
        monkeypatch.setattr(operations, "apply_shipped_scores", lambda db: 0)
    w = QtMainWindow(settings, import_sample_when_empty=True, engine_command=[sys.executable, str(script)])
    qtbot.addWidget(w)
    shown = []  # every status message: a later one may replace the one a step showed
    w.status.messageChanged.connect(shown.append)
    w.show()
    try:
        w.open_database(None)
        qtbot.waitUntil(lambda: w.product_model.rowCount() == 36 and not w.importer.running, timeout=WAIT)
        qtbot.waitUntil(lambda: "GPU: NVIDIA H200" in w.training.form.device_label.text(), timeout=WAIT)
        assert "GPU: NVIDIA H200" in w.status.device_label.text()
        calls = lambda: [json.loads(line) for line in Path(str(script) + ".calls").read_text().splitlines()]  # noqa: E731
        if mode == "shipped":
            # every sample review scored, the first row on screen too, and no scoring run at all
            qtbot.waitUntil(lambda: w.review_model.rowCount() > 0 and w.review_model.review(0).score is not None,
                            timeout=WAIT)
            qtbot.waitUntil(lambda: any("starter" in m for m in shown), timeout=WAIT)
            with w.store.db.begin() as s:
                (active,) = [m for m in repo.list_model_versions(s) if m.active]
                assert active.name == "starter"
                assert repo.prediction_counts(s)[active.id] == 737
            qtbot.waitUntil(lambda: not w.store.busy, timeout=WAIT)
            assert [c for c in calls() if c[0] == "score"] == []
            assert w.scoring.state.status is RunStatus.IDLE
        elif mode == "engine":
            qtbot.waitUntil(lambda: w.scoring.state.status is RunStatus.SUCCEEDED, timeout=WAIT)
            qtbot.waitUntil(lambda: any("starter" in m for m in shown), timeout=WAIT)
            # the automatic scoring is shown above the review table too (with Cancel while it runs)
            assert w.scoring_bar.mode == "ended" and w.scoring_bar.label.text().startswith("Scored 737 reviews with starter")
            (score,) = [c for c in calls() if c[0] == "score"]
            assert "--model" not in score and "--db" not in score  # never on the command line (`ps`)
            assert score[-1] == f"ENV_DB={w.store.db.url}"
        else:
            qtbot.waitUntil(lambda: "No model yet" in w.status.currentMessage(), timeout=WAIT)
            assert w.scoring.state.status is RunStatus.IDLE
    finally:
        w.close()
