"""Run slow work off the GUI thread and bring its results back on the GUI thread.

Ownership rules (every module of ``gui`` follows them; read them before adding a QObject or a job)
-----------------------------------------------------------------------------------------------
1. Every QObject is created, owned and destroyed on the GUI thread. It has a Qt parent, or one
   Python owner that destroys it there (``deleteLater`` or ``shiboken6.delete``). No QObject sits
   in a reference cycle that only the garbage collector can break: the collector runs in whatever
   thread happens to allocate, and a Qt object destroyed in a pool thread aborts the process
   ("Timers cannot be stopped from another thread").
2. A job is plain Python. A :class:`Job` holds the function, its arguments, its cancel flag and,
   once it ended, its outcome; a pool thread holds nothing else. Jobs never touch a widget and
   never receive or return a QObject (a ``QImage`` is fine: it is not a QObject).
3. One :class:`JobRunner` per owner (a QObject with a parent, made on the GUI thread) starts jobs
   and relays their progress and their end through two queued signals that carry only the job's
   id. The callbacks stay on the GUI side, in a table keyed by that id; the entry is removed when
   the job's end is delivered, so a finished job leaves nothing alive behind it (no per-job
   QObject, no ``QRunnable`` kept by the pool).
4. Callbacks are called on the GUI thread, in the order the events happened.
5. Nothing here, or anywhere in the app, switches the garbage collector off.

Cancellation is a flag that the job checks between steps (:meth:`JobContext.check`); a generator
job is also closed at its next ``yield`` (each ``yield`` is a progress report).
"""
from __future__ import annotations

import inspect
import itertools
import threading
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, QThreadPool, Signal


Callback = Optional[Callable[[Any], None]]

FINISHED, ERRORED, CANCELLED = "finished", "errored", "cancelled"


class Cancelled(Exception):
    """Raised inside a job when it was cancelled."""


class Job:
    """One unit of work, as a pool thread sees it: Qt-free.

    Parameters
    ----------
    job_id : int
        Key of the job in its runner's table.
    fn : callable
        Called as ``fn(*args, **kwargs)``; a generator function's yields become progress.

    Attributes
    ----------
    outcome : tuple or None
        ``(FINISHED, result)``, ``(ERRORED, exception)`` or ``(CANCELLED, None)``, written once by
        the pool thread before the end is signalled.
    traceback : str
        The formatted traceback of an error.
    """

    __slots__ = ("id", "_fn", "_args", "_kwargs", "_cancel", "outcome", "traceback")

    def __init__(self, job_id: int, fn: Callable, args: tuple, kwargs: dict) -> None:
        self.id = job_id
        self._fn = fn
        self._args = args
        self._kwargs = kwargs
        self._cancel = threading.Event()
        self.outcome: Optional[tuple[str, Any]] = None
        self.traceback = ""

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Ask the job to stop at its next check (safe from any thread)."""
        self._cancel.set()

    def execute(self, report: Callable[[Any], None]) -> None:
        """Run the function in the calling thread and record the outcome (never raises)."""
        try:
            if self.is_cancelled:
                raise Cancelled()
            result = self._fn(*self._args, **self._kwargs)
            if inspect.isgenerator(result):
                result = self._drain(result, report)
            self.outcome = (FINISHED, result)
        except Cancelled:
            self.outcome = (CANCELLED, None)
        except Exception as exc:  # every error goes to one path: on_error
            self.traceback = traceback.format_exc()
            self.outcome = (ERRORED, exc.with_traceback(None))
        finally:
            # The function and its arguments are not needed any more: drop them here, while the
            # runner's table still refers to this job, so nothing of theirs dies with the thread.
            self._fn = self._args = self._kwargs = None  # type: ignore[assignment]

    def _drain(self, gen, report) -> Any:
        while True:
            if self.is_cancelled:
                gen.close()
                raise Cancelled()
            try:
                value = next(gen)
            except StopIteration as stop:
                return stop.value
            report(value)


class JobContext:
    """Handed to jobs started with ``pass_context=True``: report progress, check for Cancel."""

    def __init__(self, job: Job, report: Callable[[Any], None]) -> None:
        self._job = job
        self._report = report

    @property
    def cancelled(self) -> bool:
        return self._job.is_cancelled

    def check(self) -> None:
        if self._job.is_cancelled:
            raise Cancelled()

    def report(self, value: Any) -> None:
        """Send ``value`` to the GUI thread; raises :class:`Cancelled` once cancelled, so a job
        that reports from inside a transaction rolls it back."""
        self.check()
        self._report(value)


# Kept for the jobs written against the old name.
WorkerContext = JobContext


@dataclass
class _Callbacks:
    """The GUI side of one job: what to call, on the GUI thread, when it reports or ends."""

    job: Job
    on_result: Callback = None
    on_error: Callback = None
    on_progress: Callback = None
    on_cancelled: Callback = None


class JobRunner(QObject):
    """Starts :class:`Job` objects on thread pools and calls their callbacks on the GUI thread.

    Signals
    -------
    count_changed(int)
        Number of jobs queued or running.

    The two relay signals below are emitted from pool threads; because this object lives on the
    GUI thread, Qt queues them and the slots run there. They carry the job id only.
    """

    count_changed = Signal(int)
    _progressed = Signal(int, object)
    _ended = Signal(int)

    _ids = itertools.count(1)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._table: dict[int, _Callbacks] = {}
        self._lock = threading.Lock()
        self._progressed.connect(self._on_progressed)
        self._ended.connect(self._on_ended)

    # ------------------------------------------------------------------ GUI thread

    def start(
        self,
        pool: QThreadPool,
        fn: Callable,
        *args,
        on_result: Callback = None,
        on_error: Callback = None,
        on_progress: Callback = None,
        on_cancelled: Callback = None,
        pass_context: bool = False,
        **kwargs,
    ) -> Job:
        """Run ``fn(*args, **kwargs)`` on ``pool`` (with ``ctx=`` a :class:`JobContext` when
        ``pass_context``); returns the :class:`Job` (its ``cancel()`` stops it)."""
        job = Job(next(self._ids), fn, args, kwargs)
        progressed, ended = self._progressed, self._ended  # bound once, on this thread

        def report(value: Any, _id: int = job.id) -> None:
            progressed.emit(_id, value)

        if pass_context:
            kwargs["ctx"] = JobContext(job, report)
        self._table[job.id] = _Callbacks(job, on_result, on_error, on_progress, on_cancelled)
        self.count_changed.emit(len(self._table))

        def task() -> None:  # runs in the pool thread; holds the job and two signal instances
            job.execute(report)
            ended.emit(job.id)

        pool.start(task)
        return job

    def cancel_all(self) -> None:
        for entry in list(self._table.values()):
            entry.job.cancel()

    @property
    def count(self) -> int:
        return len(self._table)

    def _on_progressed(self, job_id: int, value: Any) -> None:
        entry = self._table.get(job_id)
        if entry is not None and entry.on_progress is not None and not entry.job.is_cancelled:
            entry.on_progress(value)

    def _on_ended(self, job_id: int) -> None:
        entry = self._table.pop(job_id, None)
        if entry is None:
            return
        self.count_changed.emit(len(self._table))
        kind, value = entry.job.outcome or (CANCELLED, None)
        if kind == FINISHED:
            if entry.on_result is not None:
                entry.on_result(value)
        elif kind == ERRORED:
            if entry.on_error is not None:
                entry.on_error(value)
            else:
                raise_unhandled(value, entry.job.traceback)
        elif entry.on_cancelled is not None:
            entry.on_cancelled(None)


def raise_unhandled(exc: BaseException, tb: str) -> None:
    """Default for a job without ``on_error``: log it (the Store turns it into a dialog)."""
    import logging

    logging.getLogger(__name__).error("job failed: %s\n%s", exc, tb)


def make_pool(max_threads: int, parent: QObject | None = None) -> QThreadPool:
    pool = QThreadPool(parent)
    pool.setMaxThreadCount(max_threads)
    return pool
