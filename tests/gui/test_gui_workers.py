"""Workers: progress by yield, results and errors by signal, cancellation between steps."""
from __future__ import annotations

import threading

import pytest

from gui.store import Store
from gui.workers import Worker, make_pool


@pytest.fixture
def pool():
    p = make_pool(2)
    yield p
    p.waitForDone(5000)


def test_generator_yields_become_progress_and_return_value_finished(qtbot, pool):
    def job(n):
        for i in range(n):
            yield i
        return "done"

    worker = Worker(job, 3)
    progress = []
    worker.signals.progress.connect(progress.append)
    with qtbot.waitSignal(worker.signals.finished, timeout=5000) as blocker:
        pool.start(worker)
    assert blocker.args == ["done"]
    assert progress == [0, 1, 2]


def test_errors_arrive_on_the_gui_thread(qtbot, pool):
    def job():
        raise ValueError("bad line 3")

    worker = Worker(job)
    threads = []
    worker.signals.errored.connect(lambda exc: threads.append(threading.current_thread()))
    with qtbot.waitSignal(worker.signals.errored, timeout=5000) as blocker:
        pool.start(worker)
    assert isinstance(blocker.args[0], ValueError)
    assert threads == [threading.main_thread()]
    assert "bad line 3" in worker.traceback


def test_cancel_stops_a_job_at_its_next_report(qtbot, pool):
    gate = threading.Event()

    def job(ctx):
        gate.wait(5)
        ctx.report(1)  # raises Cancelled: the worker was cancelled meanwhile
        return "not reached"

    worker = Worker(job, pass_context=True)
    finished = []
    worker.signals.finished.connect(finished.append)
    with qtbot.waitSignal(worker.signals.cancelled, timeout=5000):
        pool.start(worker)
        worker.cancel()
        gate.set()
    assert finished == []


def test_store_runs_session_jobs_and_drops_results_after_close(qtbot, catalogue):
    store = Store()
    with qtbot.waitSignal(store.opened, timeout=10_000):
        store.open(catalogue.url)
    results = []
    from storage import repository as repo

    with qtbot.waitSignal(store.activity, check_params_cb=lambda n: n == 0, timeout=5000):
        store.call(repo.list_categories, on_result=results.append)
    assert results == [["Books", "Clothing", "Kitchen"]]
    store.close()
    assert store.call(repo.list_categories, on_result=results.append) is not None
    assert len(results) == 1


def test_many_qt_calls_and_emits_cannot_exhaust_none_or_true():
    """PySide6 6.12 loses a reference to None per void call and to True per emit; on
    Python < 3.12 gui.qt_compat pins them, so this loop (far more calls than None has
    references in a fresh interpreter) does not abort the process."""
    import sys

    from PySide6.QtCore import QObject, Signal

    from gui import qt_compat

    class Emitter(QObject):
        fired = Signal(object)

    e = Emitter()
    e.fired.connect(lambda _v: None)
    for _ in range(200_000):
        e.setObjectName("x")  # a void call
        e.fired.emit(None)
    if sys.version_info < (3, 12) and qt_compat.pyside_loses_references():
        assert qt_compat._installed and sys.getrefcount(None) > qt_compat.PIN // 2
