"""Qt-free state of a scoring job (``python -m engine score --json-progress``)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

from engine import events

from ..state.evented import EventedState, evented
from .eta import Sample, estimate_eta, eta_text
from .state import EXIT_CANCELLED, EXIT_OK, Progress, RunStatus, _num, json_event


@dataclass(frozen=True)
class ScoreOutcome:
    model: str
    scored: int
    seconds: float


def count(n: int, word: str = "review") -> str:
    """``1234`` -> ``"1,234 reviews"``, ``1`` -> ``"1 review"``."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


class ScoreJobState(EventedState):
    """Progress of the one scoring job that runs at a time (after training, on activation,
    on first launch). ``events.log_line(str)`` carries its log."""

    extra_events = ("log_line",)

    status = evented(RunStatus.IDLE, "Where the job stands (:class:`~gui.training.state.RunStatus`).")
    model = evented("", "Name of the model that scores (as the engine reports it).")
    progress = evented(Progress(), "Reviews scored of those to score.")
    eta_s = evented(None, "Seconds still needed: measured from the rate of the recent batches "
                          "(:func:`~gui.training.eta.estimate_eta`), the engine's estimate until then.")
    error = evented("", "Why the job failed ('' unless FAILED).")
    outcome = evented(None, "A :class:`ScoreOutcome` once it succeeded.")

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._error_event = ""
        self._clock = clock
        self._samples: list[Sample] = []
        self.cancel_seen = False  # the engine said it stopped on request (it then still says "done")
        self.total = 0  # reviews the job set out to score (0: not known yet)
        self.done = 0  # reviews written so far (each batch is one transaction)
        self.requested = ""  # the model asked for ('': the active one)
        self.highlighted = -1  # reviews given their text highlight so far (-1: that pass has not begun)

    def begin(self, model: str = "") -> None:
        self.requested = model  # '' : the active model (or, in a database without one, the starter)
        self._error_event = ""
        self._samples = []
        self.cancel_seen, self.total, self.done, self.highlighted = False, 0, 0, -1
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
            self.total, self.done = ev.reviews, 0
            self._samples = [(self._clock(), 0)]
            self.progress = Progress(0, ev.reviews, f"scoring {ev.reviews} reviews with {self.model}")
            self.events.log_line.emit(f"scoring {ev.reviews} reviews with {self.model} on {ev.device}")
        elif isinstance(ev, events.ScoreProgress):
            rate = _num(ev.reviews_per_s)
            self.total, self.done = ev.total, ev.done
            self._samples.append((self._clock(), ev.done))
            self.progress = Progress(ev.done, ev.total, f"scoring with {self.model}: {ev.done}/{ev.total}"
                                     + (f" ({rate:.0f} reviews/s)" if rate else ""))
            measured = estimate_eta(self._samples, ev.total)
            self.eta_s = measured if measured is not None else _num(ev.eta_s)
        elif isinstance(ev, events.ScoreHighlight):  # every score is written; the words follow
            self.done = self.total = max(self.total, ev.total)
            self.highlighted = ev.done
            self.eta_s = _num(ev.eta_s)
            self.progress = Progress(ev.done, ev.total, f"adding the text highlights: {ev.done}/{ev.total}")
        elif isinstance(ev, events.ScoreDone):
            self.outcome = ScoreOutcome(ev.model or self.model, ev.scored, ev.seconds)
            self.events.log_line.emit(f"scored {self.outcome.scored} reviews with {self.outcome.model} "
                                      f"in {self.outcome.seconds:.1f} s")
        elif isinstance(ev, events.Error):
            self._error_event = ev.message
        elif isinstance(ev, events.ScoreCancelled):
            self.cancel_seen = True
            self.done = max(self.done, ev.scored)
            self.events.log_line.emit("scoring stopped on request")
        return ev

    def finish(self, exit_code: int, stderr_tail: str = "") -> RunStatus:
        if self.outcome is not None:
            self.done = max(self.done, self.outcome.scored)
        if self.cancel_seen:  # stopped after a whole batch: what it wrote stays, the rest is not scored
            status = RunStatus.CANCELLED
        elif exit_code == EXIT_OK and self.outcome is not None:
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

    def writing_reason(self) -> str:
        """Why nothing else may write to the store now ('' when no job runs)."""
        if not self.status.active:
            return ""
        who = f" with {self.model}" if self.model else ""
        what = f"Scoring {count(self.total)}{who}" if self.total else f"A scoring job{who}"
        return f"{what} is writing to the store; training can start when it finishes or is cancelled."

    # ------------------------------------------------------------ what the review table area says

    @property
    def percent(self) -> Optional[int]:
        """Whole percent done (None: the count is not known yet)."""
        return None if self.total <= 0 else int(100 * min(self.done, self.total) / self.total)

    def cell_text(self) -> str:
        """What a "not scored" cell says while this job scores its review: ``scoring\u2026 41%``."""
        if self.status is RunStatus.CANCELLING:
            return "stopping\u2026"
        pct = self.percent
        return "scoring\u2026" if pct is None else f"scoring\u2026 {pct}%"

    def cell_tooltip(self) -> str:
        who = f" by {self.model}" if self.model else ""
        if self.status is RunStatus.CANCELLING:
            return f"Scoring{who} stops after the batch it is writing; this review may stay not scored"
        if not self.total:
            return f"About to be scored{who} (the scorer is starting)"
        eta = eta_text(self.eta_s)
        return f"Being scored{who}: {self.done:,} of {count(self.total)} done" + (f", {eta}" if eta else "")

    def job_line(self) -> str:
        """One line for a running job: ``Scoring 41 of 100 reviews with v1 \u2014 41%, about 12 s left``."""
        who = f" with {self.model}" if self.model else ""
        if self.status is RunStatus.CANCELLING:
            return (f"Cancelling: scoring{who} stops after the batch it is writing; the {self.done:,} reviews "
                    "scored so far keep their scores")
        if not self.total:
            return f"Starting to score{who} (loading the model)\u2026"
        eta = eta_text(self.eta_s)
        if self.highlighted >= 0:
            return (f"All {count(self.total)} scored{who}; marking the words that moved each score: "
                    f"{self.highlighted:,} done" + (f", {eta}" if eta else ""))
        return (f"Scoring {self.done:,} of {count(self.total)}{who} \u2014 {self.percent}%"
                + (f", {eta}" if eta else ""))

    def end_line(self) -> str:
        """How the last job ended ('' while one runs or none ran)."""
        status = self.status
        if status is RunStatus.SUCCEEDED and self.outcome is not None:
            o = self.outcome
            return f"Scored {count(o.scored)} with {o.model} in {o.seconds:.1f} s"
        if status is RunStatus.CANCELLED:
            left = max(0, self.total - self.done)
            return (f"Scoring cancelled: {count(self.done)} scored (kept), {count(left)} still not scored"
                    if self.total else "Scoring cancelled before it wrote anything")
        if status is RunStatus.FAILED:
            return f"Scoring failed: {self.error}" + (f" ({count(self.done)} scored before, kept)" if self.done else "")
        return ""
