"""A very small evented-object layer, in the spirit of napari's ``EmitterGroup``.

State classes in :mod:`gui.state` are plain Python (no Qt): widgets subscribe to their
events and set their attributes; the state never knows a widget exists.
"""
from __future__ import annotations

import inspect
import weakref
from typing import Any, Callable, Generic, TypeVar, Union

T = TypeVar("T")
Callback = Callable[[Any], None]


_Ref = Union[Callback, "weakref.WeakMethod[Callback]"]


def _ref(callback: Callback) -> _Ref:
    """A bound method is held weakly (as napari and glue do), so that a state never keeps a
    widget alive nor puts it in a reference cycle; a function or lambda is held as it is."""
    if inspect.ismethod(callback):
        return weakref.WeakMethod(callback)
    return callback


def _deref(ref: _Ref) -> Callback | None:
    return ref() if isinstance(ref, weakref.WeakMethod) else ref


class EventEmitter:
    """A list of callbacks called with one value, in connection order.

    Bound methods are referenced weakly: when their object is gone they are dropped, and
    connecting one does not keep its object alive. Functions and lambdas are referenced
    strongly (a lambda connected to a state lives as long as the state).

    Parameters
    ----------
    name : str
        Name of the event, for error messages and ``repr``.
    """

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._callbacks: list[_Ref] = []
        self._blocked = 0

    def connect(self, callback: Callback) -> Callback:
        if not callable(callback):
            raise TypeError(f"event {self.name!r}: cannot connect {callback!r}, it is not callable")
        if callback not in self.callbacks:
            self._callbacks.append(_ref(callback))
        return callback

    def disconnect(self, callback: Callback | None = None) -> None:
        if callback is None:
            self._callbacks.clear()
            return
        self._callbacks = [r for r in self._callbacks if _deref(r) not in (None, callback)]

    @property
    def callbacks(self) -> list[Callback]:
        """The live callbacks, in connection order."""
        return [cb for cb in map(_deref, self._callbacks) if cb is not None]

    def emit(self, value: Any = None) -> None:
        if self._blocked:
            return
        dead = False
        for ref in list(self._callbacks):
            cb = _deref(ref)
            if cb is None:
                dead = True
                continue
            cb(value)
        if dead:
            self._callbacks = [r for r in self._callbacks if _deref(r) is not None]

    __call__ = emit

    def blocker(self) -> "_Blocker":
        """Context manager that silences this emitter (used when state is set in bulk)."""
        return _Blocker(self)

    def __repr__(self) -> str:
        return f"<EventEmitter {self.name!r} ({len(self.callbacks)} callbacks)>"


class _Blocker:
    def __init__(self, emitter: EventEmitter) -> None:
        self._emitter = emitter

    def __enter__(self) -> None:
        self._emitter._blocked += 1

    def __exit__(self, *exc) -> None:
        self._emitter._blocked -= 1


class Events:
    """Attribute namespace of :class:`EventEmitter` objects, one per declared name.

    A name that was not declared is an error (a misspelled event must not become a silent
    new emitter that nobody emits)."""

    def __init__(self, *names: str, owner: str = "") -> None:
        self._owner = owner
        self._names = tuple(names)
        for n in names:
            setattr(self, n, EventEmitter(n))

    def __getattr__(self, name: str) -> EventEmitter:
        # Only called for names that are not set: i.e. not declared.
        if name.startswith("_"):
            raise AttributeError(name)
        raise AttributeError(
            f"{self._owner or 'this state'} has no event {name!r}; its events are: {', '.join(sorted(self._names))}"
        )


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
    """Base class: gives ``self.events`` with one emitter per :class:`evented` attribute, plus
    one per name in the class attribute ``extra_events`` (events that are not attributes)."""

    extra_events: tuple[str, ...] = ()

    def __init__(self, **values: Any) -> None:
        names = [n for n, v in _evented_attrs(type(self))]
        self.events = Events(*names, *self.extra_events, owner=type(self).__name__)
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
