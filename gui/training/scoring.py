"""Background scoring: ``python -m engine score`` in a QProcess, one job at a time."""
from __future__ import annotations

from collections import deque
from typing import Callable, Optional, Sequence

from PySide6.QtCore import QObject, Signal

from .process import QtEngineProcess
from .scoring_state import ScoreJobState
from .state import RunStatus

Done = Optional[Callable[[RunStatus], None]]


class QtScoringController(QObject):
    """Scores the catalogue with a model, in the background, and says when it is done.

    Requests made while a job runs wait in a queue (scoring after a training run and an
    activation can overlap); each request's ``on_done`` gets the job's final status.

    Signals
    -------
    finished(object)
        A job ended: its :class:`~gui.training.state.RunStatus`.
    """

    finished = Signal(object)

    def __init__(self, command: Optional[Sequence[str]] = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = ScoreJobState()
        self.process = QtEngineProcess(command, self)
        self.process.line.connect(self.state.apply_line)
        self.process.finished.connect(self._on_finished)
        self._queue: deque[tuple[list[str], str, Done]] = deque()
        self._current: Done = None

    @property
    def busy(self) -> bool:
        return self.process.running or bool(self._queue)

    def score(self, db_url: str, model: Optional[str] = None, *, rescore_all: bool = False, on_done: Done = None) -> None:
        """Score every review the model has not scored yet (``model`` None: the active one,
        or the bundled starter model in a database without models)."""
        args = ["score", "--db", db_url, "--json-progress"]
        if model:
            args += ["--model", model]
        if rescore_all:
            args.append("--all")
        self._queue.append((args, model or "", on_done))
        if not self.process.running:
            self._next()

    def cancel(self) -> None:
        self._queue.clear()
        if self.process.running and self.state.status.active:
            self.state.status = RunStatus.CANCELLING
            self.process.cancel()

    def shutdown(self) -> None:
        """The window closes: stop the job without calling anyone back."""
        self._queue.clear()
        self._current = None
        self.process.kill()

    def _next(self) -> None:
        if not self._queue:
            return
        args, model, self._current = self._queue.popleft()
        self.state.begin(model)
        self.state.events.log_line.emit(f"$ {self.process.command_line(args)}")
        self.process.start(args)

    def _on_finished(self, code: int, stderr_tail: str) -> None:
        status = self.state.finish(code, stderr_tail)
        done, self._current = self._current, None
        if done is not None:
            done(status)
        self.finished.emit(status)
        self._next()
