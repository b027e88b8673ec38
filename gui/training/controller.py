"""Starts, cancels and restarts ``python -m engine train`` runs and feeds their state."""
from __future__ import annotations

import json
import os
import tempfile
from typing import Callable, Optional, Sequence

from PySide6.QtCore import QObject, Signal

from .process import QtEngineProcess
from .setup import TrainingSetup
from .state import RunStatus, TrainingRunState


class QtTrainingController(QObject):
    """Owns the trainer process and the run's :class:`TrainingRunState`; never touches a widget.

    Parameters
    ----------
    setup : TrainingSetup
        What the next run does.
    command : sequence of str, optional
        Engine program (default ``python -m engine``; tests pass a fake).
    blocked_by : callable, optional
        Why no run may start now ('' when one may): e.g. a scoring job writes to the store.

    Signals
    -------
    succeeded(object)
        The run registered a model: its :class:`~gui.training.state.TrainingOutcome`.
    ended(object)
        The run ended (any :class:`~gui.training.state.RunStatus`).
    """

    succeeded = Signal(object)
    ended = Signal(object)

    def __init__(self, setup: TrainingSetup, command: Optional[Sequence[str]] = None, parent: QObject | None = None,
                 blocked_by: Callable[[], str] = lambda: "") -> None:
        super().__init__(parent)
        self.setup = setup
        self.blocked_by = blocked_by
        self.state = TrainingRunState()
        self.process = QtEngineProcess(command, self)
        self.process.line.connect(self.state.apply_line)
        self.process.stderr_line.connect(self.state.add_log)
        self.process.finished.connect(self._on_finished)
        self._last: Optional[tuple[str, Optional[str], bool]] = None
        self._restart_pending = False
        self._config_file: Optional[str] = None

    @property
    def running(self) -> bool:
        return self.process.running

    def start(self, db_url: str, from_model: Optional[str] = None) -> bool:
        """Start a run on ``db_url`` (continuing from ``from_model`` when given); False while one
        runs, or while :attr:`blocked_by` gives a reason."""
        if self.process.running or self.blocked_by():
            return False
        continuing = from_model is not None
        self._last = (db_url, from_model, continuing)
        overrides = self.setup.config_overrides(continuing)
        self._config_file = self._write_config(overrides) if overrides else None
        args = self.setup.engine_args(db_url, from_model=from_model, config_file=self._config_file)
        self.state.begin(self.process.command_line(args))
        if overrides:
            self.state.add_log("advanced options: " + ", ".join(f"{k}={v}" for k, v in sorted(overrides.items())))
        self.process.start(args)
        return True

    def cancel(self) -> bool:
        """Stop the run after its current step (nothing is registered)."""
        self._restart_pending = False
        if not self.state.request_cancel():
            return False
        return self.process.cancel()

    def restart(self) -> bool:
        """Run the last run again; a running one is cancelled first."""
        if self._last is None:
            return False
        if self.process.running:
            if self.blocked_by():  # it could not start again once this one stopped
                return False
            if self.state.request_cancel():
                self.process.cancel()
            self._restart_pending = True
            return True
        db_url, from_model, _ = self._last
        return self.start(db_url, from_model)

    def shutdown(self) -> None:
        """The window closes: stop the trainer now (SIGTERM, then SIGKILL; nothing partial is registered)."""
        self._restart_pending = False
        self.process.kill()

    @staticmethod
    def _write_config(overrides: dict) -> str:
        fd, path = tempfile.mkstemp(prefix="reviewscope-train-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(overrides, fh, indent=1)
        return path

    def _on_finished(self, code: int, stderr_tail: str) -> None:
        if self._config_file:
            try:
                os.unlink(self._config_file)
            except OSError:
                pass
            self._config_file = None
        status = self.state.finish(code, stderr_tail)
        if status is RunStatus.SUCCEEDED:
            self.succeeded.emit(self.state.outcome)
        self.ended.emit(status)
        if self._restart_pending:
            self._restart_pending = False
            self.restart()
