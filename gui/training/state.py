"""Qt-free state of one training run, fed by the engine's ``--json-progress`` lines.

The engine prints one JSON object per line; :mod:`engine.events` defines them (``start``,
``stage``, ``features``, ``step``, ``epoch``, ``done``, ``cancelled``, ``error``) and validates
them on both sides. The state turns them into plain records and evented attributes the panel
binds to; the exit code closes the run (0 ok, 3 cancelled, 2 user error, anything else a crash).
A line that is not a valid event of the protocol is shown in the log as an error.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Optional, Union

from engine import events
from engine.events import EXIT_CANCELLED, EXIT_OK, EXIT_USER_ERROR, SUBTASKS  # noqa: F401  (used by the panel)

from ..state.evented import EventedState, evented

HUMAN_LABEL = "y_g"
KILLED_NOTE = "the engine did not stop within {seconds} of Cancel; killed"
"""What the process runner adds to the stderr tail when it had to kill the engine after Cancel."""
MAX_LOG_LINES = 5000


class RunStatus(Enum):
    IDLE = "idle"
    STARTING = "starting"
    RUNNING = "running"
    CANCELLING = "cancelling"
    SUCCEEDED = "succeeded"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        """A process is (or is about to be) running."""
        return self in (RunStatus.STARTING, RunStatus.RUNNING, RunStatus.CANCELLING)


def json_event(line: str) -> Optional[dict[str, Any]]:
    """The JSON object of an engine stdout line that carries an ``event``, else None (plain text)."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) and "event" in obj else None


def _num(value: Any) -> Optional[float]:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


@dataclass(frozen=True)
class Progress:
    """What the progress bar shows: ``done`` of ``total`` (``total == 0``: busy, no count)."""

    done: int = 0
    total: int = 0
    label: str = ""

    @property
    def fraction(self) -> Optional[float]:
        return None if self.total <= 0 else min(1.0, max(0.0, self.done / self.total))


@dataclass(frozen=True)
class StepRecord:
    """One optimisation step; ``x`` is the fractional epoch (epoch 1, step 4 of 8: 0.5)."""

    epoch: int
    step: int
    steps: int
    loss: Optional[float]

    @property
    def x(self) -> float:
        return self.epoch - 1 + self.step / max(self.steps, 1)


@dataclass(frozen=True)
class EpochRecord:
    """The per-epoch figures the charts plot.

    Attributes
    ----------
    target_loss, total_loss : float or None
        Mean target (ranking) loss and total loss of the epoch.
    subtask_losses : dict
        Subtask name -> mean loss, for the subtasks the engine reported.
    dev : dict
        ``MAP``, ``NDCG@3``, ``NDCG@5`` on the dev split (x100), empty without dev labels.
    pseudo_labels : dict
        ``"y_g"`` (the human labels) and each subtask -> ``(mean, std)`` of its pseudo-labels.
    """

    epoch: int
    epochs: int
    target_loss: Optional[float]
    total_loss: Optional[float]
    subtask_losses: dict[str, float] = field(default_factory=dict)
    dev: dict[str, float] = field(default_factory=dict)
    pseudo_labels: dict[str, tuple[float, float]] = field(default_factory=dict)
    samples_per_s: Optional[float] = None
    eta_s: Optional[float] = None

    @classmethod
    def from_event(cls, ev: dict[str, Any]) -> "EpochRecord":
        losses = ev.get("losses") if isinstance(ev.get("losses"), dict) else {}
        subtasks = {
            k.split("/", 1)[1]: v for k, v in ((k, _num(v)) for k, v in losses.items())
            if k.startswith("subtask/") and v is not None
        }
        dev = {k: v for k, v in ((k, _num(v)) for k, v in (ev.get("dev") or {}).items()) if v is not None}
        pseudo: dict[str, tuple[float, float]] = {}
        for name, stats in (ev.get("pseudo_labels") or {}).items():
            if isinstance(stats, dict):
                mean, std = _num(stats.get("mean")), _num(stats.get("std"))
                if mean is not None and std is not None:
                    pseudo[name] = (mean, std)
        return cls(int(ev.get("epoch", 0)), int(ev.get("epochs", 0) or 0), _num(losses.get("target")),
                   _num(losses.get("total")), subtasks, dev, pseudo, _num(ev.get("samples_per_s")), _num(ev.get("eta_s")))

    def pseudo_offset(self, subtask: str) -> Optional[float]:
        """How far the subtask's mean pseudo-label has moved from the human labels' mean."""
        if subtask not in self.pseudo_labels or HUMAN_LABEL not in self.pseudo_labels:
            return None
        return self.pseudo_labels[subtask][0] - self.pseudo_labels[HUMAN_LABEL][0]


@dataclass(frozen=True)
class TrainingOutcome:
    """The ``done`` event: the registered model version."""

    model: str
    model_version_id: int
    metrics: dict[str, Any]
    checkpoint: str
    activated: bool

    @property
    def dev_map(self) -> Optional[float]:
        return _num((self.metrics.get("dev") or {}).get("MAP"))


def format_duration(seconds: Optional[float]) -> str:
    """``75`` -> ``"1:15"``, ``3725`` -> ``"1:02:05"``, None -> ``""``."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return ""
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _fmt(value: Optional[float], digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


class TrainingRunState(EventedState):
    """One run of ``python -m engine train --json-progress``, as the panel shows it.

    Events
    ------
    Every attribute below emits on change; besides them ``events.step_added(StepRecord)``,
    ``events.epoch_added(EpochRecord)``, ``events.log_line(str)`` and ``events.reset(None)``
    (a new run cleared the old one).
    """

    extra_events = ("step_added", "epoch_added", "log_line", "reset")

    status = evented(RunStatus.IDLE, "Where the run stands (:class:`RunStatus`).")
    stage = evented("", "What the trainer does now, in words.")
    progress = evented(Progress(), "Progress bar contents (:class:`Progress`).")
    eta_s = evented(None, "Seconds the engine expects the run still needs (None: unknown).")
    samples_per_s = evented(None, "Training throughput of the last step or epoch.")
    device = evented("", "Device the engine trains on, as it reports it.")
    run_id = evented(None, "TrainingRun id in the store.")
    parent = evented(None, "Name of the model the run starts from (None: from scratch).")
    outcome = evented(None, "The registered model (:class:`TrainingOutcome`) once the run succeeded.")
    error = evented("", "Why the run failed, for the user ('' unless FAILED).")

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[StepRecord] = []
        self.epochs: list[EpochRecord] = []
        self.log: list[str] = []
        self.config: dict[str, Any] = {}
        self.command = ""
        self._error_event = ""
        self._cancelled_event = False

    # ------------------------------------------------------------ lifecycle

    def begin(self, command: str = "") -> None:
        """Clear the previous run and mark a new one as starting."""
        self.steps, self.epochs, self.log, self.config = [], [], [], {}
        self.command = command
        self._error_event = ""
        self._cancelled_event = False
        for name, value in (("stage", "starting the engine\u2026"), ("progress", Progress(0, 0, "starting")),
                            ("eta_s", None), ("samples_per_s", None), ("device", ""), ("run_id", None),
                            ("parent", None), ("outcome", None), ("error", "")):
            setattr(self, name, value)
        self.events.reset.emit(None)
        self.status = RunStatus.STARTING
        if command:
            self.add_log(f"$ {command}")

    def request_cancel(self) -> bool:
        """Mark the run as cancelling; False when there is nothing to cancel."""
        if self.status not in (RunStatus.STARTING, RunStatus.RUNNING):
            return False
        self.status = RunStatus.CANCELLING
        self.stage = "cancelling: the trainer stops after its current step\u2026"
        self.add_log("cancel requested")
        return True

    def finish(self, exit_code: int, stderr_tail: str = "") -> RunStatus:
        """Close the run from the process's exit code (-1: it crashed or could not start)."""
        if exit_code == EXIT_OK and self.outcome is not None:
            status, message = RunStatus.SUCCEEDED, ""
        elif exit_code == EXIT_CANCELLED or (self.status is RunStatus.CANCELLING and exit_code != EXIT_OK):
            status, message = RunStatus.CANCELLED, ""
        elif exit_code == EXIT_OK:
            status, message = RunStatus.FAILED, "the trainer exited without registering a model"
        else:
            status, message = RunStatus.FAILED, self._failure_message(exit_code, stderr_tail)
        if status is RunStatus.FAILED:
            self.error = message
            self.stage = f"failed: {message}"
            self.add_log(f"FAILED (exit code {exit_code}): {message}")
            if stderr_tail.strip() and exit_code not in (EXIT_USER_ERROR,):
                self.add_log(stderr_tail.rstrip())
        elif status is RunStatus.CANCELLED:
            self.stage = "cancelled: no model was registered"
            killed = [ln for ln in stderr_tail.splitlines() if ln.startswith(KILLED_NOTE.split("{")[0])]
            if killed:  # it ignored the polite stop: say so, the user may wonder why it took a while
                self.add_log(killed[-1])
            self.add_log("cancelled; no model registered")
        else:
            self.stage = f"done: registered {self.outcome.model}"
        self.progress = Progress(1, 1, self.stage) if status is RunStatus.SUCCEEDED else Progress(0, 1, self.stage)
        self.eta_s = None
        self.status = status
        return status

    def _failure_message(self, exit_code: int, stderr_tail: str) -> str:
        if self._error_event:
            return self._error_event
        lines = [ln.strip() for ln in stderr_tail.splitlines() if ln.strip()]
        for ln in reversed(lines):
            if ln.startswith("error:"):
                return ln[len("error:"):].strip()
        if exit_code < 0:
            return "the trainer stopped unexpectedly (it crashed or was killed)"
        if lines:
            return lines[-1]  # a traceback's last line names the exception
        return f"the trainer exited with code {exit_code}"

    # ------------------------------------------------------------ input

    def add_log(self, line: str) -> None:
        self.log.append(line)
        if len(self.log) > MAX_LOG_LINES:
            del self.log[: len(self.log) - MAX_LOG_LINES]
        self.events.log_line.emit(line)

    def apply_line(self, line: str) -> Optional[events.Event]:
        """One stdout line: a JSON event is validated, applied and returned; other text is logged."""
        obj = json_event(line)
        if obj is not None:
            return self.apply(obj)
        if line.strip():
            self.add_log(line.strip())
        return None

    def apply(self, ev: Union[events.Event, dict[str, Any]]) -> Optional[events.Event]:
        """Apply one engine event (a parsed JSON object is validated first); an unknown or
        malformed one is logged as an error and remembered as the run's error."""
        if isinstance(ev, dict):
            try:
                ev = events.decode("train", ev)
            except events.ProtocolError as exc:
                self._protocol_error(str(exc))
                return None
        handler = self._handlers().get(type(ev))
        if handler is None:
            self._protocol_error(f"a {type(ev).__name__} event is not one of `train`'s")
            return None
        if self.status is RunStatus.STARTING:
            self.status = RunStatus.RUNNING
        handler(ev)
        return ev

    def _handlers(self) -> dict:
        return {
            events.TrainStart: self._on_start, events.Stage: self._on_stage, events.Features: self._on_features,
            events.Progress: self._on_progress, events.Step: self._on_step, events.Epoch: self._on_epoch,
            events.TrainDone: self._on_done, events.TrainCancelled: self._on_cancelled, events.Error: self._on_error,
        }

    def _protocol_error(self, message: str) -> None:
        self.add_log(f"error: engine protocol: {message}")
        if not self._error_event:
            self._error_event = f"engine protocol: {message}"

    def _on_start(self, ev: events.TrainStart) -> None:
        self.config = dict(ev.config)
        self.device = ev.device
        self.run_id = ev.run_id
        self.parent = ev.parent
        epochs = self.config.get("epochs", "?")
        self.add_log(f"run #{self.run_id} on {self.device}: {ev.train_products} train and "
                     f"{ev.dev_products} dev products, {epochs} epochs, "
                     f"{'from ' + str(self.parent) if self.parent else 'from scratch'}")
        self.stage = "loading the catalogue"

    def _on_stage(self, ev: events.Stage) -> None:
        message = ev.message or ev.stage
        if self.status is not RunStatus.CANCELLING:
            self.stage = message
        self.add_log(f"[{ev.stage}] {message}")
        if ev.stage == "evaluate":
            self.progress = Progress(0, 0, "evaluating the best epoch on dev and test")

    def _on_features(self, ev: Union[events.Features, events.Progress]) -> None:
        done, total = ev.done, ev.total or 0
        self.progress = Progress(done, total, f"encoding texts and images {done}/{total} (cached on disk)")

    def _on_step(self, ev: events.Step) -> None:
        rec = StepRecord(ev.epoch, ev.step, ev.steps or 1, _num(ev.loss))
        self.steps.append(rec)
        epochs = int(self.config.get("epochs") or rec.epoch)
        done = (rec.epoch - 1) * rec.steps + rec.step
        self.progress = Progress(done, max(epochs * rec.steps, done),
                                 f"epoch {rec.epoch}/{epochs}, step {rec.step}/{rec.steps}")
        self.eta_s = _num(ev.eta_s)
        self.samples_per_s = _num(ev.samples_per_s)
        if self.status is not RunStatus.CANCELLING:
            self.stage = f"training: epoch {rec.epoch}/{epochs}"
        self.events.step_added.emit(rec)

    def _on_epoch(self, ev: events.Epoch) -> None:
        rec = EpochRecord.from_event(dataclasses.asdict(ev))
        self.epochs.append(rec)
        self.eta_s = rec.eta_s
        if rec.samples_per_s is not None:
            self.samples_per_s = rec.samples_per_s
        self.add_log(f"epoch {rec.epoch}/{rec.epochs}: loss {_fmt(rec.total_loss)} (target {_fmt(rec.target_loss)}), "
                     f"dev MAP {_fmt(rec.dev.get('MAP'), 2)}, NDCG@3 {_fmt(rec.dev.get('NDCG@3'), 2)}, "
                     f"{_fmt(rec.samples_per_s, 1)} reviews/s")
        self.events.epoch_added.emit(rec)

    def _on_done(self, ev: events.TrainDone) -> None:
        out = TrainingOutcome(ev.model, ev.model_version_id, dict(ev.metrics), ev.checkpoint, ev.activated)
        test = (out.metrics.get("test") or {}).get("MAP")
        self.add_log(f"registered model {out.model} (#{out.model_version_id}): dev MAP {_fmt(out.dev_map, 2)}, "
                     f"test MAP {_fmt(_num(test), 2)}; {'activated' if out.activated else 'not activated'}")
        self.outcome = out

    def _on_cancelled(self, ev: events.TrainCancelled) -> None:
        self._cancelled_event = True
        self.add_log("the trainer stopped on request")

    def _on_error(self, ev: events.Error) -> None:
        self._error_event = ev.message or "unknown error"
        self.add_log(f"error: {self._error_event}")

    def _on_progress(self, ev: events.Progress) -> None:  # generic Progress events (not sent by train today)
        self._on_features(ev)

    # ------------------------------------------------------------ derived

    @property
    def best_epoch(self) -> Optional[EpochRecord]:
        scored = [e for e in self.epochs if "MAP" in e.dev]
        return max(scored, key=lambda e: e.dev["MAP"]) if scored else None
