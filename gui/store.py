"""The GUI's only way to the database: every call runs in a pool thread, results come back by signal.

Reads go to a small pool; slow analytics (metrics, the disagreement queue, the audit log)
to a one-thread background pool, so they never hold up what the user is waiting for;
writes (flags, undo, imports) to a one-thread pool so they happen in the order the user
made them. Callbacks run on the GUI thread. Results of jobs started before the database
was switched are dropped. Ownership of threads and objects: the rules at the top of
:mod:`gui.workers`.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, Signal

from storage.db import Database, open_database

from .workers import Job, JobRunner, make_pool

log = logging.getLogger(__name__)

Callback = Optional[Callable[[Any], None]]


class Store(QObject):
    """Owns the open :class:`~storage.db.Database`, the thread pools and the job runner.

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
        self._reads = make_pool(read_threads, self)
        self._background = make_pool(1, self)
        self._writes = make_pool(1, self)
        self._runner = JobRunner(self)
        self._runner.count_changed.connect(self.activity)
        self._generation = 0
        self._held = 0
        self._closed = False

    # ---------------------------------------------------------------- database

    def open(self, url: str | None, on_opened: Callback = None, on_error: Callback = None) -> Job:
        """Open (create, migrate) the database at ``url`` in a pool thread, then switch to it."""

        def _opened(db: Database) -> None:
            if self._closed:
                db.dispose()
                return
            self._switch(db)
            if on_opened:
                on_opened(db)

        return self._start(self._writes, _open_and_clean, (url,), {}, _opened, on_error, None, None, any_generation=True)

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
    ) -> Job | None:
        """Run ``fn(session, *args, **kwargs)`` in one transaction in a pool thread
        (``write``: in order with other writes; ``background``: behind interactive reads).

        ``fn`` may run more than once (:meth:`storage.db.Database.run` retries a busy database),
        so it must have no effect outside the session. Returns the job, or None when no
        database is open.
        """
        db = self.db
        if db is None:
            return None
        pool = self._writes if write else (self._background if background else self._reads)
        return self._start(pool, _in_transaction, (db, fn, args, kwargs), {}, on_result, on_error, on_progress, None)

    def run(
        self,
        fn: Callable[..., Any],
        *args,
        on_result: Callback = None,
        on_error: Callback = None,
        on_progress: Callback = None,
        on_cancelled: Callback = None,
        write: bool = True,
        background: bool = False,
        pass_context: bool = False,
        **kwargs,
    ) -> Job:
        """Run ``fn(*args, **kwargs)`` (no session: it opens its own, e.g. an import);
        ``background``: on the pool behind interactive reads (long reads of files)."""
        pool = self._background if background else (self._writes if write else self._reads)
        return self._start(pool, fn, args, kwargs, on_result, on_error, on_progress, on_cancelled,
                           pass_context=pass_context)

    def _start(self, pool, fn, args, kwargs, on_result, on_error, on_progress, on_cancelled,
               any_generation: bool = False, pass_context: bool = False) -> Job:
        gen = None if any_generation else self._generation

        def current() -> bool:
            return not self._closed and (gen is None or gen == self._generation)

        def _finished(result):
            if current() and on_result is not None:
                on_result(result)

        def _errored(exc):
            if not current():
                return
            if on_error is not None:
                on_error(exc)
            else:
                log.error("job failed: %s", exc, exc_info=exc)
                self.failed.emit("Something went wrong", str(exc) or type(exc).__name__)

        def _cancelled(_none):
            if current() and on_cancelled is not None:
                on_cancelled(None)

        def _progress(value):
            if current() and on_progress is not None:
                on_progress(value)

        if self._closed:
            job = Job(0, fn, args, kwargs)
            job.cancel()
            return job
        return self._runner.start(pool, fn, *args, on_result=_finished, on_error=_errored,
                                  on_progress=_progress if on_progress is not None else None,
                                  on_cancelled=_cancelled, pass_context=pass_context, **kwargs)

    @property
    def busy(self) -> bool:
        """Jobs are queued or running, or work that will start jobs waits (:meth:`hold`)."""
        return self._runner.count > 0 or self._held > 0

    def hold(self) -> Callable[[], None]:
        """Count as busy until the returned function is called (once; later calls do nothing):
        for work that waits for something else (a paint) before it starts its jobs."""
        self._held += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._held -= 1
        return release

    @property
    def jobs(self) -> int:
        """Jobs queued or running."""
        return self._runner.count

    def _drain(self, msecs: int = 30_000) -> None:
        for pool in (self._reads, self._background, self._writes):
            pool.waitForDone(msecs)

    def close(self) -> None:
        """Cancel what can be cancelled, wait for running jobs, close the database."""
        self._closed = True
        self._runner.cancel_all()
        self._drain()
        if self.db is not None:
            self.db.dispose()


def _open_and_clean(url: str | None) -> Database:
    """Open (create, migrate) the database, then remove what killed jobs left beside it."""
    from storage.files import clean_leftovers, clean_orphan_media

    db = open_database(url)
    for line in clean_leftovers(db) + clean_orphan_media(db):
        log.info("%s: %s", db.display_path, line)
    return db


def _in_transaction(db: Database, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    return db.run(lambda session: fn(session, *args, **kwargs))
