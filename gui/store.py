"""The GUI's only way to the database: every call runs in a worker, results come back by signal.

Reads go to a small pool; slow analytics (metrics, the disagreement queue, the audit log)
to a one-thread background pool, so they never hold up what the user is waiting for;
writes (flags, undo, imports) to a one-thread pool so they happen in the order the user
made them. Callbacks run on the GUI thread. Results of
jobs started before the database was switched are dropped.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, Signal

from storage.db import Database, open_database

from . import qt_compat  # noqa: F401  (before any call into Qt: see the module)
from .workers import Worker, make_pool

log = logging.getLogger(__name__)

Callback = Optional[Callable[[Any], None]]


class Store(QObject):
    """Owns the open :class:`~storage.db.Database` and the worker pools.

    Signals
    -------
    opened(Database)
        A database was opened (first time or switched).
    failed(str, str)
        A job without its own error handler failed: title and message for the user.
    activity(int)
        Number of jobs queued or running.
    """

    opened = Signal(object)
    failed = Signal(str, str)
    activity = Signal(int)

    def __init__(self, parent: QObject | None = None, read_threads: int = 2) -> None:
        super().__init__(parent)
        self.db: Database | None = None
        self._reads = make_pool(read_threads)
        self._background = make_pool(1)
        self._writes = make_pool(1)
        self._live: set[Worker] = set()
        self._generation = 0
        self._closed = False

    # ---------------------------------------------------------------- database

    def open(self, url: str | None, on_opened: Callback = None, on_error: Callback = None) -> Worker:
        """Open (create, migrate) the database at ``url`` in a worker, then switch to it."""

        def _opened(db: Database) -> None:
            self._switch(db)
            if on_opened:
                on_opened(db)

        return self._start(Worker(open_database, url), self._writes, _opened, on_error, None, generation=None)

    def _switch(self, db: Database) -> None:
        old, self.db = self.db, db
        self._generation += 1
        if old is not None and old is not db:
            self._drain()
            old.dispose()
        self.opened.emit(db)

    # ---------------------------------------------------------------- jobs

    def call(
        self,
        fn: Callable[..., Any],
        *args,
        on_result: Callback = None,
        on_error: Callback = None,
        on_progress: Callback = None,
        write: bool = False,
        background: bool = False,
        **kwargs,
    ) -> Worker | None:
        """Run ``fn(session, *args, **kwargs)`` in one transaction in a worker
        (``write``: in order with other writes; ``background``: behind interactive reads).

        Returns the worker, or None when no database is open.
        """
        db = self.db
        if db is None:
            return None

        def job():
            return db.run(lambda session: fn(session, *args, **kwargs))

        pool = self._writes if write else (self._background if background else self._reads)
        return self._start(Worker(job), pool, on_result, on_error, on_progress)

    def run(
        self,
        fn: Callable[..., Any],
        *args,
        on_result: Callback = None,
        on_error: Callback = None,
        on_progress: Callback = None,
        on_cancelled: Callback = None,
        write: bool = True,
        pass_context: bool = False,
        **kwargs,
    ) -> Worker:
        """Run ``fn(*args, **kwargs)`` (no session: it opens its own, e.g. an import)."""
        pool = self._writes if write else self._reads
        worker = Worker(fn, *args, pass_context=pass_context, **kwargs)
        return self._start(worker, pool, on_result, on_error, on_progress, on_cancelled=on_cancelled)

    def _start(self, worker, pool, on_result, on_error, on_progress, generation=-1, on_cancelled=None) -> Worker:
        if self._closed:
            return worker
        gen = self._generation if generation == -1 else None
        current = lambda: not self._closed and (gen is None or gen == self._generation)  # noqa: E731

        def _finished(result):
            if current() and on_result is not None:
                on_result(result)

        def _errored(exc):
            if not current():
                return
            if on_error is not None:
                on_error(exc)
            else:
                log.error("job failed: %s\n%s", exc, worker.traceback)
                self.failed.emit("Something went wrong", str(exc) or type(exc).__name__)

        def _cancelled():
            if current() and on_cancelled is not None:
                on_cancelled(None)

        def _done():
            self._live.discard(worker)
            self.activity.emit(len(self._live))

        worker.signals.finished.connect(_finished)
        worker.signals.errored.connect(_errored)
        worker.signals.cancelled.connect(_cancelled)
        if on_progress is not None:
            worker.signals.progress.connect(lambda v: current() and on_progress(v))
        worker.signals.done.connect(_done)
        self._live.add(worker)
        self.activity.emit(len(self._live))
        pool.start(worker)
        return worker

    @property
    def busy(self) -> bool:
        return bool(self._live)

    def _drain(self, msecs: int = 30_000) -> None:
        for pool in (self._reads, self._background, self._writes):
            pool.waitForDone(msecs)

    def close(self) -> None:
        """Cancel what can be cancelled, wait for running jobs, close the database."""
        self._closed = True
        for w in list(self._live):
            w.cancel()
        self._drain()
        if self.db is not None:
            self.db.dispose()
