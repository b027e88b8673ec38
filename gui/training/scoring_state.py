"""Qt-free state of a scoring job (``python -m engine score --json-progress``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Union

from engine import events

from ..state.evented import EventedState, evented
from .state import EXIT_CANCELLED, EXIT_OK, Progress, RunStatus, _num, json_event


@dataclass(frozen=True)
class ScoreOutcome:
    model: str
    scored: int
    seconds: float


class ScoreJobState(EventedState):
    """Progress of the one scoring job that runs at a time (after training, on activation,
    on first launch). ``events.log_line(str)`` carries its log."""

    extra_events = ("log_line",)

    status = evented(RunStatus.IDLE, "Where the job stands (:class:`~gui.training.state.RunStatus`).")
    model = evented("", "Name of the model that scores (as the engine reports it).")
    progress = evented(Progress(), "Reviews scored of those to score.")
    eta_s = evented(None, "Seconds still needed, by the engine's estimate.")
    error = evented("", "Why the job failed ('' unless FAILED).")
    outcome = evented(None, "A :class:`ScoreOutcome` once it succeeded.")

    def __init__(self) -> None:
        super().__init__()
        self._error_event = ""

    def begin(self, model: str = "") -> None:
        self._error_event = ""
        self.model, self.error, self.outcome, self.eta_s = model, "", None, None
        self.progress = Progress(0, 0, f"scoring with {model}\u2026" if model else "scoring\u2026")
        self.status = RunStatus.STARTING

    def apply_line(self, line: str) -> Optional[events.Event]:
        obj = json_event(line)
        if obj is not None:
            return self.apply(obj)
        if line.strip():
            self.events.log_line.emit(line.strip())
        return None

    def apply(self, ev: Union[events.Event, dict[str, Any]]) -> Optional[events.Event]:
        """Apply one event of ``score`` (:mod:`engine.events`); an unknown or malformed one is
        logged as an error and becomes the job's error if it fails."""
        if isinstance(ev, dict):
            try:
                ev = events.decode("score", ev)
            except events.ProtocolError as exc:
                self.events.log_line.emit(f"error: engine protocol: {exc}")
                self._error_event = self._error_event or f"engine protocol: {exc}"
                return None
        if self.status is RunStatus.STARTING:
            self.status = RunStatus.RUNNING
        if isinstance(ev, events.ScoreStart):
            self.model = ev.model or self.model
            self.progress = Progress(0, ev.reviews, f"scoring {ev.reviews} reviews with {self.model}")
            self.events.log_line.emit(f"scoring {ev.reviews} reviews with {self.model} on {ev.device}")
        elif isinstance(ev, events.ScoreProgress):
            rate = _num(ev.reviews_per_s)
            self.progress = Progress(ev.done, ev.total, f"scoring with {self.model}: {ev.done}/{ev.total}"
                                     + (f" ({rate:.0f} reviews/s)" if rate else ""))
            self.eta_s = _num(ev.eta_s)
        elif isinstance(ev, events.ScoreDone):
            self.outcome = ScoreOutcome(ev.model or self.model, ev.scored, ev.seconds)
            self.events.log_line.emit(f"scored {self.outcome.scored} reviews with {self.outcome.model} "
                                      f"in {self.outcome.seconds:.1f} s")
        elif isinstance(ev, events.Error):
            self._error_event = ev.message
        elif isinstance(ev, events.ScoreCancelled):
            self.events.log_line.emit("scoring stopped on request")
        return ev

    def finish(self, exit_code: int, stderr_tail: str = "") -> RunStatus:
        if exit_code == EXIT_OK and self.outcome is not None:
            status = RunStatus.SUCCEEDED
        elif exit_code == EXIT_CANCELLED or self.status is RunStatus.CANCELLING:
            status = RunStatus.CANCELLED
        else:
            status = RunStatus.FAILED
            lines = [ln.strip() for ln in stderr_tail.splitlines() if ln.strip()]
            errors = [ln[len("error:"):].strip() for ln in lines if ln.startswith("error:")]
            self.error = (self._error_event or (errors[-1] if errors else "") or (lines[-1] if lines else "")
                          or f"the scorer exited with code {exit_code}")
            self.events.log_line.emit(f"scoring failed: {self.error}")
        self.eta_s = None
        self.progress = Progress(1, 1, "") if status is RunStatus.SUCCEEDED else Progress(0, 1, "")
        self.status = status
        return status
