"""Run slow work off the GUI thread and bring results back by signal.

A :class:`Worker` runs a function (or a generator: each ``yield`` is a progress report)
in a ``QThreadPool``. Its signals are emitted from the pool thread and delivered on the
GUI thread, because the signal object lives there. Cancellation is a flag that the
function checks between steps (:meth:`WorkerContext.check`); a generator is also closed
at its next ``yield``.
"""
from __future__ import annotations

import inspect
import threading
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from . import qt_compat  # noqa: F401  (before any call into Qt: see the module)


class Cancelled(Exception):
    """Raised inside a job when its worker was cancelled."""


class WorkerSignals(QObject):
    """Signals of one :class:`Worker` (a QRunnable cannot carry signals itself)."""

    progress = Signal(object)
    finished = Signal(object)
    errored = Signal(object)
    cancelled = Signal()
    done = Signal()  # after any of finished / errored / cancelled


class WorkerContext:
    """Handed to jobs that take a ``ctx`` argument: report progress, check for Cancel."""

    def __init__(self, worker: "Worker") -> None:
        self._worker = worker

    @property
    def cancelled(self) -> bool:
        return self._worker.is_cancelled

    def check(self) -> None:
        if self._worker.is_cancelled:
            raise Cancelled()

    def report(self, value: Any) -> None:
        """Send ``value`` to the GUI thread; raises :class:`Cancelled` once cancelled, so
        a job that reports from inside a transaction rolls it back."""
        self.check()
        self._worker.signals.progress.emit(value)


class Worker(QRunnable):
    """One job for a thread pool.

    Parameters
    ----------
    fn : callable
        Called as ``fn(*args, **kwargs)``; with ``pass_context=True`` also ``ctx=``
        a :class:`WorkerContext`. A generator function's yields become ``progress``.
    """

    def __init__(self, fn: Callable, *args, pass_context: bool = False, **kwargs) -> None:
        super().__init__()
        self.setAutoDelete(False)  # Python owns the object; the Store keeps it alive
        self.signals = WorkerSignals()
        self._fn = fn
        self._args = args
        self._kwargs = kwargs
        self._cancel = threading.Event()
        if pass_context:
            self._kwargs["ctx"] = WorkerContext(self)
        self.traceback = ""

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:  # runs in the pool thread
        try:
            if self._cancel.is_set():
                raise Cancelled()
            result = self._fn(*self._args, **self._kwargs)
            if inspect.isgenerator(result):
                result = self._drain(result)
        except Cancelled:
            self.signals.cancelled.emit()
        except Exception as exc:  # every error goes to one path: errored
            self.traceback = traceback.format_exc()
            self.signals.errored.emit(exc)
        else:
            self.signals.finished.emit(result)
        self.signals.done.emit()

    def _drain(self, gen) -> Any:
        while True:
            if self._cancel.is_set():
                gen.close()
                raise Cancelled()
            try:
                value = next(gen)
            except StopIteration as stop:
                return stop.value
            self.signals.progress.emit(value)


def make_pool(max_threads: int) -> QThreadPool:
    pool = QThreadPool()
    pool.setMaxThreadCount(max_threads)
    return pool
