"""A very small evented-object layer, in the spirit of napari's ``EmitterGroup``.

State classes in :mod:`gui.state` are plain Python (no Qt): widgets subscribe to their
events and set their attributes; the state never knows a widget exists.
"""
from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar

T = TypeVar("T")
Callback = Callable[[Any], None]


class EventEmitter:
    """A list of callbacks called with one value, in connection order.

    Parameters
    ----------
    name : str
        Name of the event, for error messages and ``repr``.
    """

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._callbacks: list[Callback] = []
        self._blocked = 0

    def connect(self, callback: Callback) -> Callback:
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callback | None = None) -> None:
        if callback is None:
            self._callbacks.clear()
        elif callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, value: Any = None) -> None:
        if self._blocked:
            return
        for cb in list(self._callbacks):
            cb(value)

    __call__ = emit

    def blocker(self) -> "_Blocker":
        """Context manager that silences this emitter (used when state is set in bulk)."""
        return _Blocker(self)

    def __repr__(self) -> str:
        return f"<EventEmitter {self.name!r} ({len(self._callbacks)} callbacks)>"


class _Blocker:
    def __init__(self, emitter: EventEmitter) -> None:
        self._emitter = emitter

    def __enter__(self) -> None:
        self._emitter._blocked += 1

    def __exit__(self, *exc) -> None:
        self._emitter._blocked -= 1


class Events:
    """Attribute namespace of :class:`EventEmitter` objects, created on first use."""

    def __init__(self, *names: str) -> None:
        for n in names:
            setattr(self, n, EventEmitter(n))

    def __getattr__(self, name: str) -> EventEmitter:
        if name.startswith("__"):
            raise AttributeError(name)
        emitter = EventEmitter(name)
        setattr(self, name, emitter)
        return emitter


class evented(Generic[T]):
    """A data descriptor that emits ``obj.events.<name>(value)`` when the value changes.

    Parameters
    ----------
    default : object
        Value before the first assignment.
    docstring : str
        What the attribute means (shown by ``help()``).
    coerce : callable, optional
        Applied to every assigned value, e.g. ``str.strip``; raises on invalid input.
    """

    def __init__(self, default: T, docstring: str = "", coerce: Callable[[Any], T] | None = None) -> None:
        self.default = default
        self.__doc__ = docstring
        self.coerce = coerce
        self.name = ""

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, obj, objtype=None) -> T:
        if obj is None:
            return self  # type: ignore[return-value]
        return obj.__dict__.get(self.name, self.default)

    def __set__(self, obj, value: T) -> None:
        if self.coerce is not None:
            value = self.coerce(value)
        old = obj.__dict__.get(self.name, self.default)
        obj.__dict__[self.name] = value
        if old != value:
            getattr(obj.events, self.name).emit(value)


class EventedState:
    """Base class: gives ``self.events`` with one emitter per :class:`evented` attribute."""

    def __init__(self, **values: Any) -> None:
        names = [n for n, v in _evented_attrs(type(self))]
        self.events = Events(*names)
        for key, value in values.items():
            if key not in names:
                raise TypeError(f"{type(self).__name__} has no evented attribute {key!r}")
            setattr(self, key, value)


def _evented_attrs(cls) -> list[tuple[str, evented]]:
    out = []
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, evented):
                out.append((name, value))
    return out
