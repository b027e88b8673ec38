"""Qt-free state of a scoring job (``python -m engine score --json-progress``)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

from ..state.evented import EventedState, evented
from .state import EXIT_CANCELLED, EXIT_OK, Progress, RunStatus, _num


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

    def apply_line(self, line: str) -> Optional[dict]:
        text = line.strip()
        if not text.startswith("{"):
            if text:
                self.events.log_line.emit(text)
            return None
        try:
            ev = json.loads(text)
        except json.JSONDecodeError:
            self.events.log_line.emit(text)
            return None
        if isinstance(ev, dict):
            self.apply(ev)
            return ev
        return None

    def apply(self, ev: dict[str, Any]) -> None:
        kind = ev.get("event")
        if self.status is RunStatus.STARTING:
            self.status = RunStatus.RUNNING
        if kind == "start":
            self.model = str(ev.get("model") or self.model)
            total = int(ev.get("reviews") or 0)
            self.progress = Progress(0, total, f"scoring {total} reviews with {self.model}")
            self.events.log_line.emit(f"scoring {total} reviews with {self.model} on {ev.get('device', '?')}")
        elif kind == "progress":
            done, total = int(ev.get("done") or 0), int(ev.get("total") or 0)
            rate = _num(ev.get("reviews_per_s"))
            self.progress = Progress(done, total, f"scoring with {self.model}: {done}/{total}"
                                     + (f" ({rate:.0f} reviews/s)" if rate else ""))
            self.eta_s = _num(ev.get("eta_s"))
        elif kind == "done":
            self.outcome = ScoreOutcome(str(ev.get("model") or self.model), int(ev.get("scored") or 0),
                                        float(ev.get("seconds") or 0.0))
            self.events.log_line.emit(f"scored {self.outcome.scored} reviews with {self.outcome.model} "
                                      f"in {self.outcome.seconds:.1f} s")
        elif kind == "error":
            self._error_event = str(ev.get("message") or "")
        elif kind == "cancelled":
            self.events.log_line.emit("scoring stopped on request")

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
