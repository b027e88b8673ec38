"""Jobs: progress by yield, results and errors on the GUI thread, cancellation between steps,
nothing left alive after a job ended (the ownership rules of gui/workers.py)."""
from __future__ import annotations

from waits import LONG_WAIT  # noqa: E402

import gc
import sys
import threading

import pytest
from PySide6.QtCore import QObject

from gui.store import Store
from gui.workers import CANCELLED, FINISHED, Job, JobRunner, make_pool


@pytest.fixture
def runner(qtbot):
    owner = QObject()
    runner = JobRunner(owner)
    pool = make_pool(2, owner)
    yield runner, pool
    pool.waitForDone(-1)
    qtbot.waitUntil(lambda: runner.count == 0, timeout=LONG_WAIT)


def test_generator_yields_become_progress_and_return_value_the_result(qtbot, runner):
    runner, pool = runner

    def job(n):
        for i in range(n):
            yield i
        return "done"

    progress, results, threads = [], [], []
    runner.start(pool, job, 3, on_progress=progress.append,
                 on_result=lambda r: (results.append(r), threads.append(threading.current_thread())))
    qtbot.waitUntil(lambda: bool(results), timeout=LONG_WAIT)
    assert results == ["done"]
    assert progress == [0, 1, 2]
    assert threads == [threading.main_thread()]


def test_errors_arrive_on_the_gui_thread_with_their_traceback(qtbot, runner):
    runner, pool = runner

    def job():
        raise ValueError("bad line 3")

    errors, threads = [], []
    started = runner.start(pool, job, on_error=lambda exc: (errors.append(exc), threads.append(threading.current_thread())))
    qtbot.waitUntil(lambda: bool(errors), timeout=LONG_WAIT)
    assert isinstance(errors[0], ValueError) and str(errors[0]) == "bad line 3"
    assert threads == [threading.main_thread()]
    assert "bad line 3" in started.traceback and "in job" in started.traceback


def test_cancel_stops_a_job_at_its_next_report(qtbot, runner):
    runner, pool = runner
    gate = threading.Event()

    def job(ctx):
        gate.wait()
        ctx.report(1)  # raises Cancelled: the job was cancelled meanwhile
        return "not reached"

    finished, cancelled = [], []
    job_ = runner.start(pool, job, pass_context=True, on_result=finished.append, on_cancelled=cancelled.append)
    job_.cancel()
    gate.set()
    qtbot.waitUntil(lambda: bool(cancelled), timeout=LONG_WAIT)
    assert finished == []
    assert job_.outcome == (CANCELLED, None)


def test_store_drops_results_of_jobs_that_end_after_close(qtbot, catalogue):
    from storage import repository as repo

    store = Store()
    with qtbot.waitSignal(store.opened, timeout=LONG_WAIT):
        store.open(catalogue.url)
    started, gate = threading.Event(), threading.Event()

    def slow_categories(session):
        started.set()
        gate.wait()
        return repo.list_categories(session)

    results = []
    job = store.call(slow_categories, on_result=results.append)
    assert started.wait(60)
    gate.set()
    store.close()  # the job's end is queued, not yet delivered: it must not reach on_result
    qtbot.waitUntil(lambda: store.jobs == 0, timeout=LONG_WAIT)
    assert job.outcome == (FINISHED, ["Books", "Clothing", "Kitchen"])  # it did run to the end
    assert results == []
    late = store.call(repo.list_categories, on_result=results.append)
    assert late is not None and late.is_cancelled and store.jobs == 0
    store.deleteLater()


def _live(kind) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, kind))


def test_finished_jobs_leave_nothing_alive(qtbot, catalogue):
    """200 store calls later, no Job, no callback table entry and no extra QObject is alive."""
    from storage import repository as repo

    store = Store()
    with qtbot.waitSignal(store.opened, timeout=LONG_WAIT):
        store.open(catalogue.url)
    jobs_before, qobjects_before = _live(Job), _live(QObject)
    results = []
    for _ in range(200):
        store.call(repo.list_categories, on_result=results.append)
    qtbot.waitUntil(lambda: len(results) == 200 and store.jobs == 0, timeout=LONG_WAIT)
    assert _live(Job) == jobs_before
    assert _live(QObject) == qobjects_before
    store.close()
    store.deleteLater()


def test_many_qt_calls_and_emits_do_not_drain_none_or_true():
    """PySide6 6.12.0 lost a reference to None per void call and to True per emit, which aborted
    the interpreter after a few minutes (pyproject.toml excludes that release). A release with
    the same bug fails here: 200,000 calls must leave both counts standing."""
    from PySide6.QtCore import Signal

    class Emitter(QObject):
        fired = Signal(object)

    e = Emitter()
    e.fired.connect(lambda _v: None)
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(200_000):
        e.setObjectName("x")  # a void call
        e.fired.emit(None)
    assert sys.getrefcount(None) > none_before - 1000
    assert sys.getrefcount(True) > true_before - 1000
