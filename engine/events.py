"""What the engine's processes tell the app: the protocol of ``--json-progress``.

Each event is one JSON object on one line of stdout: ``{"event": KIND, ...fields}`` (plus the
envelope keys ``stage`` and ``elapsed`` that :class:`engine.progress.Progress` adds). This module
is the one definition of every event a command sends, as frozen dataclasses, and of the exit
codes. It is torch-free and Qt-free: the engine validates what it writes with :func:`encode`,
the app validates what it reads with :func:`decode`, and an unknown kind or a missing or
mistyped field is a :class:`ProtocolError` (the app shows it; it never skips it silently).
Fields a newer engine adds are ignored by an older app.
"""
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, Optional, Union, get_args, get_origin, get_type_hints

__all__ = [
    "EXIT_OK", "EXIT_USER_ERROR", "EXIT_CANCELLED", "SUBTASKS", "ProtocolError", "Event",
    "TrainStart", "Stage", "Features", "Step", "Epoch", "TrainDone", "TrainCancelled",
    "ScoreStart", "ScoreProgress", "ScoreDone", "ScoreCancelled", "Progress", "Error",
    "COMMANDS", "encode", "decode",
]

EXIT_OK = 0
EXIT_USER_ERROR = 2  # bad input or configuration: the error event / stderr line says why
EXIT_CANCELLED = 3  # SIGTERM or Ctrl-C honoured: nothing was registered

SUBTASKS: tuple[str, ...] = ("p_t r_t", "p_v r_v", "p_t r_v", "p_v r_t", "r_t r_v")
"""The five interaction subtasks (MMSS.md), in the order of every sub-score vector."""

_ENVELOPE = {"event", "stage", "elapsed"}


class ProtocolError(ValueError):
    """A line that is not a valid event of the command's protocol."""


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str] = ""


# ------------------------------------------------------------------------------ train


@dataclass(frozen=True)
class TrainStart(Event):
    kind: ClassVar[str] = "start"
    run_id: Optional[int]
    device: str
    config: dict
    train_products: int
    dev_products: int
    parent: Optional[str] = None


@dataclass(frozen=True)
class Stage(Event):
    """A phase of the run begins (``features``, ``evaluate``, ``early-stop``, ``time-limit``)."""

    kind: ClassVar[str] = "stage"
    stage: str
    message: str = ""


@dataclass(frozen=True)
class Features(Event):
    """Texts and images encoded so far (frozen encoders: cached on disk)."""

    kind: ClassVar[str] = "features"
    done: int
    total: int


@dataclass(frozen=True)
class Step(Event):
    kind: ClassVar[str] = "step"
    epoch: int
    step: int
    steps: int
    loss: float
    samples_per_s: Optional[float] = None
    eta_s: Optional[float] = None


@dataclass(frozen=True)
class Epoch(Event):
    """One epoch ended: mean losses (``target``, ``subtasks``, ``subtask/<name>``, ``total``), dev
    metrics (``MAP``, ``NDCG@k``...) and pseudo-label statistics (``{name: {mean, std}}``)."""

    kind: ClassVar[str] = "epoch"
    epoch: int
    epochs: int
    losses: dict
    dev: dict
    pseudo_labels: dict = field(default_factory=dict)
    samples_per_s: Optional[float] = None
    eta_s: Optional[float] = None


@dataclass(frozen=True)
class TrainDone(Event):
    kind: ClassVar[str] = "done"
    model: str
    model_version_id: int
    metrics: dict
    checkpoint: str
    activated: bool


@dataclass(frozen=True)
class TrainCancelled(Event):
    kind: ClassVar[str] = "cancelled"
    run_id: Optional[int] = None


# ------------------------------------------------------------------------------ score


@dataclass(frozen=True)
class ScoreStart(Event):
    kind: ClassVar[str] = "start"
    model: str
    reviews: int
    device: str


@dataclass(frozen=True)
class ScoreProgress(Event):
    kind: ClassVar[str] = "progress"
    done: int
    total: int
    reviews_per_s: Optional[float] = None
    eta_s: Optional[float] = None


@dataclass(frozen=True)
class ScoreHighlight(Event):
    """Every score is written; the review text highlights are being added (a second pass over
    the same reviews, so that scores reach the screen as fast as without them)."""

    kind: ClassVar[str] = "highlight"
    done: int
    total: int
    eta_s: Optional[float] = None


@dataclass(frozen=True)
class ScoreDone(Event):
    kind: ClassVar[str] = "done"
    model: str
    scored: int
    seconds: float
    cache_hits: int = 0
    cache_misses: int = 0
    highlight_seconds: float = 0.0


@dataclass(frozen=True)
class ScoreCancelled(Event):
    kind: ClassVar[str] = "cancelled"
    scored: int = 0


# ------------------------------------------------------------------------------ any command


@dataclass(frozen=True)
class Progress(Event):
    """Generic progress of :class:`engine.progress.Progress` (``import``, ``features``...)."""

    kind: ClassVar[str] = "progress"
    done: int
    total: Optional[int] = None


@dataclass(frozen=True)
class Error(Event):
    """The command failed on bad input; it exits with :data:`EXIT_USER_ERROR`."""

    kind: ClassVar[str] = "error"
    message: str


def _protocol(*classes: type) -> dict[str, type]:
    return {c.kind: c for c in classes}


COMMANDS: dict[str, dict[str, type]] = {
    "train": _protocol(TrainStart, Stage, Features, Progress, Step, Epoch, TrainDone, TrainCancelled, Error),
    "score": _protocol(ScoreStart, ScoreProgress, ScoreHighlight, ScoreDone, ScoreCancelled, Error),
}
"""Per command: event kind -> event class (a kind means different things to different commands)."""


def _check(value: Any, hint: Any) -> bool:
    origin = get_origin(hint)
    if origin is Union:
        return any(_check(value, h) for h in get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is bool:
        return isinstance(value, bool)
    return isinstance(value, origin or hint)


def _build(command: str, kind: Any, values: dict[str, Any]) -> Event:
    protocol = COMMANDS.get(command)
    if protocol is None:
        raise ProtocolError(f"no protocol for the command {command!r}")
    cls = protocol.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ProtocolError(f"`{command}` sent an unknown event {kind!r} (known: {', '.join(sorted(protocol))})")
    hints = get_type_hints(cls)
    args = {}
    for f in fields(cls):
        if f.name not in values:
            if f.default is MISSING and f.default_factory is MISSING:
                raise ProtocolError(f"`{command}` event {kind!r} lacks its field {f.name!r}")
            continue
        value = values[f.name]
        if not _check(value, hints[f.name]):
            raise ProtocolError(f"`{command}` event {kind!r}: field {f.name!r} is {value!r}, "
                                f"not {getattr(hints[f.name], '__name__', hints[f.name])}")
        args[f.name] = float(value) if hints[f.name] is float else value
    return cls(**args)


def encode(command: str, kind: str, values: dict[str, Any]) -> Event:
    """The event the engine is about to write, validated (raises :class:`ProtocolError`)."""
    return _build(command, kind, {k: v for k, v in values.items() if k != "event"})


def decode(command: str, obj: Any) -> Event:
    """The event of one parsed JSON line of ``command``'s output (raises :class:`ProtocolError`)."""
    if not isinstance(obj, dict):
        raise ProtocolError(f"`{command}` sent {obj!r}, not a JSON object")
    kind = obj.get("event")
    values = {k: v for k, v in obj.items() if k not in _ENVELOPE or (k == "stage" and kind == Stage.kind)}
    return _build(command, kind, values)
